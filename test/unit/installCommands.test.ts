import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseShell, scanScript } from '../../server/src/policy/environment/installCommands';

function installs(script: string): string[] {
  return scanScript(script).installs.map((i) => `${i.tool}:${i.subcommand}:${i.ignoreScriptsFlag}`);
}

test('install subcommands and aliases of each tool are found; other subcommands are not', () => {
  assert.deepEqual(installs('npm ci\nnpm i left-pad\nnpm install-ci-test\nnpm isntall\nnpm add x'), [
    'npm:ci:null', 'npm:i:null', 'npm:install-ci-test:null', 'npm:isntall:null', 'npm:add:null',
  ]);
  assert.deepEqual(installs('pnpm i\npnpm -r install\npnpm recursive install\npnpm --filter app install'), [
    'pnpm:i:null', 'pnpm:install:null', 'pnpm:install:null', 'pnpm:install:null',
  ]);
  assert.deepEqual(installs('yarn\nyarn --frozen-lockfile\nyarn install --immutable\nyarn add x'), [
    'yarn::null', 'yarn::null', 'yarn:install:null', 'yarn:add:null',
  ]);
  assert.deepEqual(installs('bun install\nbun i'), ['bun:install:null', 'bun:i:null']);
  assert.deepEqual(installs('npm test\nnpm run ci\nyarn build\npnpm test\nnpx npm-install-peers\nbun run x\necho npm ci\nnpm publish'), []);
});

test('options before the subcommand, wrappers and prefixes are looked through', () => {
  assert.deepEqual(installs('npm --prefix app ci'), ['npm:ci:null']);
  assert.deepEqual(installs('yarn --cwd web install'), ['yarn:install:null']);
  assert.deepEqual(installs('sudo -E npm i -g pnpm'), ['npm:i:null']);
  assert.deepEqual(installs('corepack pnpm install'), ['pnpm:install:null']);
  assert.deepEqual(installs('env -u FOO CI=1 ./node_modules/.bin/yarn install'), ['yarn:install:null']);
  assert.deepEqual(installs('if npm ci; then echo ok; fi'), ['npm:ci:null']);
  assert.deepEqual(installs('cd app && npm ci || (cd .. && npm install)'), ['npm:ci:null', 'npm:install:null']);
});

test('script switches on the command line', () => {
  assert.deepEqual(installs('npm ci --ignore-scripts'), ['npm:ci:true']);
  assert.deepEqual(installs('npm --ignore-scripts ci'), ['npm:ci:true']);
  assert.deepEqual(installs('npm ci --ignore-scripts=false'), ['npm:ci:false']);
  assert.deepEqual(installs('npm ci --ignore-scripts false'), ['npm:ci:false']);
  assert.deepEqual(installs('npm ci --no-ignore-scripts'), ['npm:ci:false']);
  assert.deepEqual(installs('yarn install --mode=skip-build'), ['yarn:install:true']);
  assert.deepEqual(installs('yarn install --mode skip-build'), ['yarn:install:true']);
  const [prefixed] = scanScript('npm_config_ignore_scripts=true npm ci').installs;
  assert.equal(prefixed!.env.get('npm_config_ignore_scripts'), 'true');
});

test('quotes, comments, heredocs and ${{ }} expressions do not make commands', () => {
  assert.deepEqual(installs('echo "npm ci" # npm install\n# npm ci'), []);
  assert.deepEqual(installs("echo 'a; npm ci'"), []);
  assert.deepEqual(installs('cat > x.sh <<EOF\nnpm ci\nEOF\nnpm i'), ['npm:i:null']);
  assert.deepEqual(installs('cat <<-"END" | sh\n\tnpm ci\n\tEND\n'), []);
  assert.deepEqual(installs('TOKEN=${{ secrets.NPM_TOKEN }} npm ci'), ['npm:ci:null']);
  assert.deepEqual(installs('VERSION=$(node -p "require(\'./package.json\').version"); npm ci'), ['npm:ci:null']);
  const [install] = scanScript('echo a && \\\n  npm ci \\\n  --no-audit').installs;
  assert.equal(install!.text, 'npm ci --no-audit');
});

test('offsets point at the tool word and end after the last word', () => {
  const script = 'echo start\n  FOO=1 npm  ci --no-audit  # trailing\nnext';
  const [install] = scanScript(script).installs;
  assert.equal(script.slice(install!.start, install!.end), 'npm  ci --no-audit');
});

test('exports, config writes and $GITHUB_ENV lines are collected', () => {
  const facts = scanScript(
    [
      'export npm_config_ignore_scripts=true CI=1',
      'npm config set ignore-scripts true',
      'yarn config set enableScripts false',
      'pnpm set ignore-scripts=true',
      'echo "NPM_TOKEN=${{ secrets.NPM_TOKEN }}" >> "$GITHUB_ENV"',
      'echo "//r/:_authToken=${{ secrets.X }}" > ~/.npmrc',
      'echo ${{ secrets.Y }} > /dev/null',
    ].join('\n'),
  );
  assert.deepEqual(facts.exports.map((e) => `${e.name}=${e.value}`), ['npm_config_ignore_scripts=true', 'CI=1']);
  assert.deepEqual(facts.configWrites.map((w) => `${w.tool} ${w.key}=${w.value}`), [
    'npm ignore-scripts=true', 'yarn enableScripts=false', 'pnpm ignore-scripts=true',
  ]);
  assert.deepEqual(facts.githubEnvWrites.map((w) => `${w.name}=${w.value}`), ['NPM_TOKEN=${{ secrets.NPM_TOKEN }}']);
});

test('persistsAt: a statement that writes a file, a config or a login persists; $GITHUB_ENV and /dev/null do not', () => {
  const script = [
    'echo "${{ secrets.A }}" > ~/.npmrc',
    'echo "${{ secrets.B }}" | docker login -u me --password-stdin',
    'echo "${{ secrets.C }}" > /dev/null',
    'echo "T=${{ secrets.D }}" >> $GITHUB_ENV',
    'curl -H "Authorization: ${{ secrets.E }}" https://example.invalid',
    'cat > cfg <<EOF',
    'token=${{ secrets.F }}',
    'EOF',
  ].join('\n');
  const facts = scanScript(script);
  const persisted = ['A', 'B', 'C', 'D', 'E', 'F'].filter((n) => facts.persistsAt(script.indexOf(`secrets.${n}`)));
  assert.deepEqual(persisted, ['A', 'B', 'F']);
});

test('parseShell keeps statements apart and redirections out of the words', () => {
  const { commands } = parseShell('a 2>&1 | b > out.txt; c && d &\ne');
  assert.deepEqual(commands.map((c) => [c.words.map((w) => w.text).join(' '), c.statement]), [
    ['a', 0], ['b', 0], ['c', 1], ['d', 1], ['e', 3],
  ]);
  assert.deepEqual(commands[1]!.redirects, [{ op: '>', target: 'out.txt' }]);
});
