// FileDeliveryLog: EventSub message ids kept in a file, so a message the fake Twitch
// delivers again to a restarted webhook is answered and not acted on twice; the Rust log's
// line format; the 20-minute window; a torn last line; a bad line named; compaction.

import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';

import { FileDeliveryLog, InvalidInputError, JournalError } from 'twitch-drops';
import { startFake } from './fake.mjs';
import { deliver, webhookOver } from './webhook.mjs';

const SECRET = 'webhook-secret-0123456789';
const WINDOW_MS = 20 * 60 * 1000;

function scratch() {
  return mkdtempSync(join(tmpdir(), 'td-deliveries-'));
}

const lines = (path) => readFileSync(path, 'utf8').split('\n').filter((l) => l !== '');

test('FileDeliveryLog: a message delivered again to a restarted webhook is known', async () => {
  const dir = scratch();
  const path = join(dir, 'journal.jsonl.deliveries');
  const fake = await startFake();
  const first = await webhookOver(new FileDeliveryLog(path), SECRET);
  try {
    const sent = await deliver(fake, first.callback, SECRET, { count: 2 });
    assert.equal(sent.status, 204);
    assert.equal(first.handled[0].kind, 'grants');
    await first.close();

    // A restart: a new process would open the same file.
    const second = await webhookOver(new FileDeliveryLog(path), SECRET);
    try {
      const again = await deliver(fake, second.callback, SECRET, { replay: true });
      assert.equal(again.status, 204);
      assert.deepEqual(second.handled[0], { kind: 'repeated', messageId: sent.message_id });
    } finally {
      await second.close();
    }
    assert.deepEqual(
      lines(path).map((l) => JSON.parse(l).id),
      [sent.message_id],
    );
  } finally {
    await fake.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('FileDeliveryLog: the Rust format, the window, a torn line, a bad line, compaction', async () => {
  const dir = scratch();
  const path = join(dir, 'deliveries');
  try {
    // Lines as serde_json writes them for the Rust FileDeliveryLog (quotes and newlines
    // escaped, other characters as they are), the last one torn by a crash.
    writeFileSync(path, '{"at":1000,"id":"m-1"}\n{"at":2000,"id":"m\\"2\\né"}\n{"at":3000,"id":"m-');
    let log = new FileDeliveryLog(path);
    assert.equal(await log.firstDelivery('m-1', 5000), false);
    assert.equal(await log.firstDelivery('m"2\né', 5000), false, 'an id is data');
    assert.equal(await log.firstDelivery('m-3', 5000), true, 'the torn line was no record');
    assert.deepEqual(lines(path), ['{"at":1000,"id":"m-1"}', '{"at":2000,"id":"m\\"2\\né"}', '{"at":5000,"id":"m-3"}']);

    // Past the window, m-1 is forgotten, and gone from the file at the next opening.
    log = new FileDeliveryLog(path);
    assert.equal(await log.firstDelivery('m-1', 1000 + WINDOW_MS), true);
    assert.deepEqual(lines(path).map((l) => JSON.parse(l).id), ['m"2\né', 'm-3', 'm-1']);

    writeFileSync(path, '{"at":1,"id":"a"}\nnot json\n{"at":2,"id":"b"}\n');
    await assert.rejects(new FileDeliveryLog(path).firstDelivery('c', 10), (e) => {
      assert.ok(e instanceof JournalError);
      assert.match(e.message, /bad line 2 in .*deliveries/);
      return true;
    });

    // 1500 ids, then the window passes: the next append finds 1501 lines for one id.
    writeFileSync(path, '');
    log = new FileDeliveryLog(path);
    for (let n = 0; n < 1500; n++) assert.equal(await log.firstDelivery(`old-${n}`, 0), true);
    assert.equal(lines(path).length, 1500);
    assert.equal(await log.firstDelivery('new', WINDOW_MS), true);
    assert.deepEqual(lines(path), [`{"at":${WINDOW_MS},"id":"new"}`]);
    assert.equal(await log.firstDelivery('new', WINDOW_MS + 1), false);

    // Beside a journal `journal` (no extension), whose own compaction is `journal.compacting`.
    writeFileSync(join(dir, 'journal.compacting'), 'the journal\'s own\n');
    await new FileDeliveryLog(join(dir, 'journal.deliveries')).firstDelivery('z', 1);
    assert.equal(readFileSync(join(dir, 'journal.compacting'), 'utf8'), "the journal's own\n");

    assert.throws(() => new FileDeliveryLog(''), InvalidInputError);
    await assert.rejects(log.firstDelivery('', 1), InvalidInputError);
    await assert.rejects(log.firstDelivery('x', -1), InvalidInputError);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
