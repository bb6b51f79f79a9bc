/**
 * Exceptions in install-guard.jsonc: created when the file is absent, appended with the
 * user's comments and trailing commas intact, renewed in place, refused when the request
 * is not a visible, explained, time-bound exception. The written file is read back with
 * the policy file's own reader (policyFile.ts), which must see the exception in force.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { parse as parseJsonc } from 'jsonc-parser';
import { addException, removeException, validateException, type ExceptionRequest } from '../../server/src/policy/edits/exceptionEdits';
import { exceptionInForce, POLICY_FILE_NAME, readPolicySettings } from '../../server/src/policy/policyFile';
import { afterFix, assertEol, assertOnlySpansChanged, loadEditFixture } from '../support/editAssertions';

const now = new Date('2026-03-01T15:30:00Z');
const sharp: ExceptionRequest = {
  package: 'sharp',
  version: '0.34.5',
  code: 'unreviewed-install-script',
  reason: 'prebuilt libvips download, reviewed by the platform team',
  expires: '2026-04-30',
};

async function readBack(root: string, files: ReadonlyMap<string, string>) {
  return readPolicySettings({ root, manifests: [] }, async (path) => files.get(path) ?? null);
}

test('the policy file is created when absent, without $schema, and its reader sees the exception in force', async () => {
  const root = '/project';
  const file = join(root, POLICY_FILE_NAME);
  const fix = addException(null, file, sharp, now);
  assert.equal(fix.status, 'edit');
  assert.deepEqual(fix.createsFiles, [file]);
  const texts = afterFix({ root, files: new Map() }, fix);
  const text = texts.files.get(file)!;
  assert.deepEqual(parseJsonc(text), { exceptions: [{ ...sharp }] });
  assert.ok(!text.includes('$schema'));
  const settings = await readBack(root, texts.files);
  assert.deepEqual(settings.problems, []);
  assert.equal(settings.exceptions.length, 1);
  assert.equal(settings.exceptions[0]!.version, '0.34.5');
  assert.ok(exceptionInForce(settings.exceptions[0]!, now));
});

test('an exception is appended with comments and trailing commas kept, outside bytes unchanged; twice changes nothing', async () => {
  const texts = loadEditFixture('exceptions');
  const file = join(texts.root, POLICY_FILE_NAME);
  const fix = addException(texts.files.get(file)!, file, sharp, now);
  assert.equal(fix.status, 'edit');
  assert.match(fix.title, /Add an exception for sharp@0\.34\.5 \(unreviewed-install-script\) until 2026-04-30/);
  const after = afterFix(texts, fix);
  assertOnlySpansChanged(texts, after, fix);
  const text = after.files.get(file)!;
  for (const comment of ['// Install Guard policy for this repository.', '// CI gate', '/* Exceptions are reviewed monthly. */', '// re-check after the next major']) {
    assert.ok(text.includes(comment), `keeps ${comment}`);
  }
  assert.match(text, /"expires": "2026-06-30", \/\/ re-check after the next major\n {4}\},\n {4}\{\n {6}"package": "sharp",/);
  assert.match(text, /"expires": "2026-04-30"\n {4}\},\n {2}\],\n\}\n$/, 'the trailing-comma style of the list is kept');
  const settings = await readBack(texts.root, after.files);
  assert.deepEqual(settings.exceptions.map((e) => `${e.package}@${e.version ?? '*'}`), ['core-js@*', 'sharp@0.34.5']);
  const again = addException(text, file, sharp, now);
  assert.equal(again.status, 'unchanged');
  assert.deepEqual(again.edits, []);
});

test('the same package, version and code is renewed in place instead of added twice', () => {
  const texts = loadEditFixture('exceptions');
  const file = join(texts.root, POLICY_FILE_NAME);
  const renewal = { package: 'core-js', code: 'unreviewed-install-script', reason: 'postinstall only prints a banner', expires: '2026-09-30' };
  const fix = addException(texts.files.get(file)!, file, renewal, now);
  assert.match(fix.title, /^Renew the exception for core-js \(unreviewed-install-script\) until 2026-09-30/);
  const after = afterFix(texts, fix);
  assertOnlySpansChanged(texts, after, fix);
  assert.equal(fix.edits.length, 1, 'only the date changes');
  const old = texts.files.get(file)!;
  const dateAt = old.indexOf('"2026-06-30"');
  assert.ok(fix.edits[0]!.span.start > dateAt && fix.edits[0]!.span.end < dateAt + 12, 'the edit stays inside the old date');
  const value = parseJsonc(after.files.get(file)!) as { exceptions: unknown[] };
  assert.equal(value.exceptions.length, 1);
  assert.match(after.files.get(file)!, /"expires": "2026-09-30", \/\/ re-check after the next major/);
});

test('a CRLF, tab-indented policy file gains a CRLF, tab-indented "exceptions"', () => {
  const texts = loadEditFixture('exceptions-crlf');
  const file = join(texts.root, POLICY_FILE_NAME);
  const fix = addException(texts.files.get(file)!, file, { ...sharp, version: undefined }, now);
  const after = afterFix(texts, fix);
  assertOnlySpansChanged(texts, after, fix);
  const text = after.files.get(file)!;
  assertEol(text, '\r\n');
  assert.match(text, /\r\n\t"exceptions": \[\r\n\t\t\{\r\n\t\t\t"package": "sharp",\r\n\t\t\t"code"/);
  assert.equal((parseJsonc(text) as { minimumReleaseAge: number }).minimumReleaseAge, 1440);
});

test('requests that are not a real, explained, future exception are refused', () => {
  const cases: [Partial<ExceptionRequest>, RegExp][] = [
    [{ expires: '2026-02-28' }, /in the past \(today is 2026-03-01\)/],
    [{ expires: '2026-02-30' }, /not a date/],
    [{ expires: '31/12/2026' }, /not a date/],
    [{ reason: '   ' }, /needs a reason/],
    [{ version: '^0.34.0' }, /not an exact version/],
    [{ package: 'Not A Name' }, /not a package name/],
    [{ code: 'Unreviewed Script' }, /not a finding code/],
  ];
  for (const [change, message] of cases) {
    const fix = addException(null, '/p/install-guard.jsonc', { ...sharp, ...change }, now);
    assert.equal(fix.status, 'refused', JSON.stringify(change));
    assert.deepEqual(fix.edits, []);
    assert.match(fix.reason ?? '', message);
  }
  assert.equal(validateException({ ...sharp, expires: '2026-03-01' }, now), null, 'today is still valid (the exception holds through the day)');
  assert.equal(validateException({ ...sharp, package: '@img/sharp-linux-x64' }, now), null);
  assert.match(addException(null, '/p/install-guard.jsonc', { ...sharp, expires: '2028-01-01' }, now).limitation ?? '', /lasts 671 days/);
});

test('a policy file that does not parse, or whose exceptions are not a list, is not written', () => {
  const half = addException('{\n  "exceptions": [\n    { "package": "a",\n', '/p/install-guard.jsonc', sharp, now);
  assert.equal(half.status, 'refused');
  assert.match(half.reason ?? '', /does not parse \(line 4/);
  const wrong = addException('{ "exceptions": {} }', '/p/install-guard.jsonc', sharp, now);
  assert.equal(wrong.status, 'refused');
  assert.match(wrong.reason ?? '', /not a list/);
});

test('an exception can be removed again, leaving the rest of the file as it was', () => {
  const texts = loadEditFixture('exceptions');
  const file = join(texts.root, POLICY_FILE_NAME);
  const fix = removeException(texts.files.get(file)!, file, { package: 'core-js', code: 'unreviewed-install-script' });
  const after = afterFix(texts, fix);
  assertOnlySpansChanged(texts, after, fix);
  assert.deepEqual((parseJsonc(after.files.get(file)!) as { exceptions: unknown[] }).exceptions, []);
  assert.ok(after.files.get(file)!.includes('/* Exceptions are reviewed monthly. */'));
  assert.equal(removeException(after.files.get(file)!, file, { package: 'core-js', code: 'unreviewed-install-script' }).status, 'unchanged');
});
