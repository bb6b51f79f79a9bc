// Entry point of dist/server/main.js, the server the VS Code extension starts.
import { runLanguageServer } from './languageServer';

runLanguageServer();
