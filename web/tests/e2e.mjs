// End-to-end tests of the designer and inspector in headless Chromium,
// against a running `flowstate serve` (FLOWSTATE_URL). Screenshots of each
// page go to ARTIFACTS (tests/artifacts/web by default). Run through
// tests/run.sh, which builds and starts the server.

import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));
const BASE = process.env.FLOWSTATE_URL ?? 'http://127.0.0.1:8083/';
const ARTIFACTS = process.env.ARTIFACTS ?? path.join(here, '../../tests/artifacts/web');
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const TIMEOUT = 20_000;
mkdirSync(ARTIFACTS, { recursive: true });

/** Calls the Step Functions API directly, to set up what a test does not exercise through the page. */
async function api(action, body) {
  const r = await fetch(BASE, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-amz-json-1.0', 'X-Amz-Target': `AWSStepFunctions.${action}` },
    body: JSON.stringify(body),
  });
  const json = await r.json();
  if (!r.ok) throw new Error(`${action}: ${JSON.stringify(json)}`);
  return json;
}

const ROLE = 'arn:aws:iam::123456789012:role/flowstate';
const suffix = Date.now().toString(36);

const ORDER = {
  Comment: 'End-to-end test: Choice, Parallel, Map, Wait and Pass',
  StartAt: 'Check',
  States: {
    Check: {
      Type: 'Choice',
      Choices: [{ Variable: '$.items[0]', IsPresent: true, Next: 'Fan out' }],
      Default: 'Empty',
    },
    Empty: { Type: 'Fail', Error: 'Order.Empty' },
    'Fan out': {
      Type: 'Parallel',
      Branches: [
        { StartAt: 'Left', States: { Left: { Type: 'Pass', Result: 'left', End: true } } },
        { StartAt: 'Right', States: { Right: { Type: 'Wait', Seconds: 1, End: true } } },
      ],
      ResultPath: '$.fan',
      Next: 'Each item',
    },
    'Each item': {
      Type: 'Map',
      ItemsPath: '$.items',
      ItemProcessor: { StartAt: 'Double', States: { Double: { Type: 'Pass', Parameters: { 'v.$': 'States.MathAdd($, $)' }, End: true } } },
      ResultPath: '$.doubled',
      Next: 'Done',
    },
    Done: { Type: 'Succeed' },
  },
};

const steps = [];
async function step(name, fn) {
  const started = Date.now();
  try {
    await fn();
    steps.push(`ok   ${name} (${Date.now() - started} ms)`);
    console.log(`ok   ${name}`);
  } catch (e) {
    console.log(`FAIL ${name}`);
    throw e;
  }
}

async function shot(page, name) {
  await page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`) });
}

/** Replaces the whole text of the CodeMirror editor, as typing would. */
async function setEditorText(page, text) {
  await page.click('.cm-content');
  await page.keyboard.press('Control+A');
  await page.keyboard.insertText(text);
}

async function nodeCenter(page, name) {
  const box = await page.locator(`.node[data-name="${name}"]`).first().boundingBox();
  return { x: box.x + box.width / 2, y: box.y + box.height / 2, box };
}

/** Drags from a state's connection handle to another state. */
async function connect(page, from, to) {
  const source = page.locator(`.node[data-name="${from}"]`).first();
  await source.hover();
  const handle = await source.locator(':scope > .handle').boundingBox();
  const target = await nodeCenter(page, to);
  await page.mouse.move(handle.x + handle.width / 2, handle.y + handle.height / 2);
  await page.mouse.down();
  await page.mouse.move(target.x, target.y, { steps: 8 });
  await page.mouse.up();
}

const browser = await chromium.launch({
  executablePath: CHROMIUM,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-sync'],
});
const page = await browser.newPage({ viewport: { width: 1600, height: 1000 } });
page.setDefaultTimeout(TIMEOUT);
const pageErrors = [];
page.on('pageerror', (e) => pageErrors.push(e.message));
page.on('dialog', (d) => d.accept());

try {
  await step('the page is served by flowstate serve', async () => {
    const r = await page.goto(BASE);
    assert.ok(
      r.status() === 200 && r.headers()['content-type']?.startsWith('text/html'),
      `GET ${BASE} answered ${r.status()} ${r.headers()['content-type']}: flowstate serve must merge flowstate_web::router()`,
    );
    await page.waitForSelector('h1:has-text("State machines")');
    await shot(page, '01-state-machines');
  });

  const name = `e2e-order-${suffix}`;
  await step('designer: palette, drag-to-connect and live diagnostics on the state', async () => {
    await page.click('a:has-text("New state machine")');
    await page.waitForSelector('.node[data-name="Hello"]');
    await page.waitForSelector('.validation-status.ok');
    // Nothing selected: the new state stands alone and is unreachable.
    await page.click('.palette-item[data-type="Pass"]');
    await page.waitForSelector('.node[data-name="Pass"].has-error');
    const diag = page.locator('.diagnostics li[data-state="Pass"]');
    await diag.first().waitFor();
    assert.match(await diag.first().textContent(), /not reachable/);
    await shot(page, '02-designer-diagnostics');
    await connect(page, 'Hello', 'Pass');
    await page.waitForFunction(() => document.querySelector('.cm-content')?.textContent?.includes('"Next": "Pass"'));
    await connect(page, 'Pass', 'Done');
    await page.waitForSelector('.validation-status.ok');
    assert.equal(await page.locator('.node.has-error').count(), 0);
    // The form edits a field and the text follows.
    await page.click('.node[data-name="Pass"]');
    await page.fill('.state-form input[name="Comment"]', 'added from the palette');
    await page.press('.state-form input[name="Comment"]', 'Enter');
    await page.waitForFunction(() => document.querySelector('.cm-content')?.textContent?.includes('added from the palette'));
  });

  await step('designer: an invalid definition marks the offending state and line', async () => {
    const broken = structuredClone(ORDER);
    broken.States['Each item'].Next = 'Nowhere';
    await setEditorText(page, JSON.stringify(broken, null, 2));
    await page.waitForSelector('.node[data-name="Each item"].has-error');
    const item = page.locator('.diagnostics li[data-state="Each item"]').first();
    await item.waitFor();
    assert.match(await item.textContent(), /Nowhere/);
    const line = Number(await item.getAttribute('data-line'));
    const text = JSON.stringify(broken, null, 2).split('\n');
    assert.match(text[line - 1], /"Next": "Nowhere"/, `diagnostic on line ${line}: ${text[line - 1]}`);
    assert.ok(await page.locator('.cm-lint-marker-error').count() > 0, 'a lint marker in the gutter');
    await page.waitForSelector('.node[data-kind="missing"][data-name="Nowhere"]');
    await shot(page, '03-designer-invalid');
  });

  await step('designer: YAML view stays in sync, then save creates the state machine', async () => {
    await setEditorText(page, JSON.stringify(ORDER, null, 2));
    await page.waitForSelector('.validation-status.ok');
    await page.click('.segmented button:has-text("YAML")');
    await page.waitForFunction(() => document.querySelector('.cm-content')?.textContent?.includes('StartAt: Check'));
    await page.click('.segmented button:has-text("JSON")');
    await page.fill('input[name="name"]', name);
    await page.click('button:has-text("Save")');
    await page.waitForSelector(`.toast:has-text("Created ${name}")`);
    await page.waitForSelector('.node[data-name="Each item"]');
    await shot(page, '04-designer-saved');
  });

  let executionUrl;
  await step('inspector: start an execution and watch every state succeed', async () => {
    await page.click('a:has-text("Executions →")');
    await page.waitForSelector(`h1:has-text("${name}")`);
    await page.click('button:has-text("Start execution")');
    await page.fill('textarea[name="execution-input"]', JSON.stringify({ items: [1, 2, 3] }));
    await shot(page, '05-start-execution');
    await page.click('dialog button[type="submit"]');
    await page.waitForURL(/#\/executions\//);
    executionUrl = page.url();
    for (const state of ['Check', 'Fan out', 'Left', 'Right', 'Each item', 'Double', 'Done']) {
      await page.waitForSelector(`.node[data-name="${state}"][data-status="succeeded"]`);
    }
    await page.waitForSelector('h1 .badge:has-text("SUCCEEDED")');
    assert.equal(await page.getAttribute('.node[data-name="Empty"]', 'data-status'), 'notReached');
    await shot(page, '06-execution-succeeded');
  });

  await step('inspector: the history table, its filters, a state and its Map iterations', async () => {
    const types = await page.locator('.history tr.event').evaluateAll((rows) => rows.map((r) => r.dataset.type));
    for (const t of ['ExecutionStarted', 'ChoiceStateEntered', 'ParallelStateStarted', 'MapIterationStarted', 'WaitStateExited', 'ExecutionSucceeded']) {
      assert.ok(types.includes(t), `history has ${t}`);
    }
    await page.selectOption('select[name="history-group"]', 'Execution');
    const execOnly = await page.locator('.history tr.event').evaluateAll((rows) => rows.map((r) => r.dataset.type));
    assert.deepEqual(execOnly, ['ExecutionStarted', 'ExecutionSucceeded']);
    await page.selectOption('select[name="history-group"]', 'All events');
    await page.fill('input[name="history-search"]', 'MapIteration');
    assert.equal(await page.locator('.history tr.event').count(), 6);
    await page.fill('input[name="history-search"]', '');
    await page.click('.node[data-name="Each item"] .container-header');
    await page.waitForSelector('.side-panel h2:has-text("Each item")');
    assert.equal(await page.locator('.side-panel .chip[data-status="succeeded"]').count(), 3);
    await page.click('.side-panel .chip:has-text("2")');
    await page.click('.node[data-name="Double"]');
    await page.waitForSelector('.side-panel h2:has-text("Double")');
    const output = await page.locator('.side-panel .field:has(.label:text-is("Output")) pre').textContent();
    assert.deepEqual(JSON.parse(output), { v: 6 });
    await page.click('.history tr.event[data-type="ExecutionSucceeded"]');
    await page.waitForSelector('.history tr.event-details');
    await shot(page, '07-execution-details');
  });

  await step('inspector: answer a task waiting for a callback', async () => {
    const { stateMachineArn } = await api('CreateStateMachine', {
      name: `e2e-callback-${suffix}`,
      roleArn: ROLE,
      definition: JSON.stringify({
        StartAt: 'Approve',
        States: {
          Approve: {
            Type: 'Task',
            Resource: 'arn:aws:states:::sqs:sendMessage.waitForTaskToken',
            Parameters: { QueueUrl: 'https://sqs.us-east-1.amazonaws.com/123456789012/approvals', MessageBody: { 'token.$': '$$.Task.Token' } },
            End: true,
          },
        },
      }),
    });
    const { executionArn } = await api('StartExecution', { stateMachineArn, input: '{}' });
    await page.goto(`${BASE}#/executions/${encodeURIComponent(executionArn)}`);
    await page.waitForSelector('.node[data-name="Approve"][data-status="running"]');
    await page.click('.node[data-name="Approve"]');
    await page.waitForSelector('.callback');
    assert.ok((await page.inputValue('input[name="task-token"]')).length > 20, 'the token is found in the parameters');
    await page.fill('textarea[name="task-output"]', '{"approved": true}');
    await shot(page, '08-callback');
    await page.click('button:has-text("Send task success")');
    await page.waitForSelector('h1 .badge:has-text("SUCCEEDED")');
    await page.waitForSelector('.node[data-name="Approve"][data-status="succeeded"]');
  });

  await step('inspector: a task retried, then caught, shows its error', async () => {
    const { stateMachineArn } = await api('CreateStateMachine', {
      name: `e2e-catch-${suffix}`,
      roleArn: ROLE,
      definition: JSON.stringify({
        StartAt: 'Charge',
        States: {
          Charge: {
            Type: 'Task',
            // No local handler: the task fails with States.TaskFailed.
            Resource: 'arn:aws:lambda:us-east-1:123456789012:function:no-such-handler',
            Retry: [{ ErrorEquals: ['States.ALL'], IntervalSeconds: 1, MaxAttempts: 1 }],
            Catch: [{ ErrorEquals: ['States.ALL'], Next: 'Refund' }],
            Next: 'Ship',
          },
          Ship: { Type: 'Pass', End: true },
          Refund: { Type: 'Fail', Error: 'Payment.Failed' },
        },
      }),
    });
    const { executionArn } = await api('StartExecution', { stateMachineArn, input: '{}' });
    await page.goto(`${BASE}#/executions/${encodeURIComponent(executionArn)}`);
    await page.waitForSelector('h1 .badge:has-text("FAILED")');
    await page.waitForSelector('.node[data-name="Charge"][data-status="caught"]');
    await page.waitForSelector('.node[data-name="Refund"][data-status="failed"]');
    assert.equal(await page.getAttribute('.node[data-name="Ship"]', 'data-status'), 'notReached');
    assert.match(await page.textContent('.node[data-name="Charge"] .counter'), /↻1/);
    await page.click('.node[data-name="Charge"]');
    await page.waitForSelector('.side-panel :text("2 attempts")');
    assert.match(await page.textContent('.side-panel .field.error pre'), /States\.TaskFailed/);
    await shot(page, '08b-execution-caught');
  });

  await step('inspector: stop a running execution; filter executions by status', async () => {
    const { stateMachineArn } = await api('CreateStateMachine', {
      name: `e2e-wait-${suffix}`,
      roleArn: ROLE,
      definition: JSON.stringify({ StartAt: 'Nap', States: { Nap: { Type: 'Wait', Seconds: 600, End: true } } }),
    });
    const { executionArn } = await api('StartExecution', { stateMachineArn, input: '{}' });
    await page.goto(`${BASE}#/executions/${encodeURIComponent(executionArn)}`);
    await page.waitForSelector('.node[data-name="Nap"][data-status="running"]');
    await page.click('button:has-text("Stop execution")');
    await page.waitForSelector('h1 .badge:has-text("ABORTED")');
    await page.goto(`${BASE}#/machines/${encodeURIComponent(stateMachineArn)}`);
    await page.selectOption('select[name="status-filter"]', 'SUCCEEDED');
    await page.waitForSelector('td.empty:has-text("No succeeded executions")');
    await page.selectOption('select[name="status-filter"]', 'ABORTED');
    await page.waitForSelector('.badge.status-aborted');
  });

  await step('inspector: an Express state machine\'s page says its executions are not listed, and one opens by its ARN', async () => {
    const { stateMachineArn } = await api('CreateStateMachine', {
      name: `e2e-express-${suffix}`,
      roleArn: ROLE,
      type: 'EXPRESS',
      definition: JSON.stringify({ StartAt: 'Done', States: { Done: { Type: 'Pass', End: true } } }),
    });
    const { executionArn } = await api('StartExecution', { stateMachineArn, input: '{}' });
    assert.match(executionArn, /:express:/);
    await page.goto(`${BASE}#/machines/${encodeURIComponent(stateMachineArn)}`);
    await page.waitForSelector('td.empty:has-text("Express executions are not listed")');
    assert.equal(await page.locator('.toast-error:has-text("StateMachineTypeNotSupported")').count(), 0, 'no ListExecutions error on the Express page');
    await page.goto(`${BASE}#/executions/${encodeURIComponent(executionArn)}`);
    await page.waitForSelector('h1 .badge:has-text("SUCCEEDED")');
  });

  await step('graph: a state machine of 120 states stays readable', async () => {
    const states = {};
    for (let i = 0; i < 120; i++) {
      const next = i === 119 ? { End: true } : { Next: `Step ${i + 1}` };
      states[`Step ${i}`] = i % 10 === 5
        ? { Type: 'Choice', Choices: [{ Variable: '$.skip', BooleanEquals: true, Next: `Step ${Math.min(i + 3, 119)}` }], Default: `Step ${i + 1}` }
        : { Type: i % 3 === 0 ? 'Task' : 'Pass', ...(i % 3 === 0 ? { Resource: 'arn:aws:lambda:us-east-1:123456789012:function:f' } : {}), ...next };
    }
    const { stateMachineArn } = await api('CreateStateMachine', {
      name: `e2e-large-${suffix}`,
      roleArn: ROLE,
      definition: JSON.stringify({ StartAt: 'Step 0', States: states }),
    });
    await page.goto(`${BASE}#/machines/${encodeURIComponent(stateMachineArn)}`);
    await page.waitForSelector('.node[data-name="Step 119"]', { state: 'attached' });
    assert.equal(await page.locator('.node[data-kind="state"]').count(), 120);
    // The first states are on screen at a readable size.
    const first = await nodeCenter(page, 'Step 0');
    assert.ok(first.box.width >= 184 * 0.5 - 1, `node drawn ${first.box.width}px wide`);
    await page.click('.node[data-name="Step 0"]');
    await page.waitForSelector('.state-popover:has-text("Resource")');
    await shot(page, '09-large-graph');
  });

  assert.deepEqual(pageErrors, [], 'no uncaught errors in the page');
  console.log(`\n${steps.length} steps passed; screenshots in ${ARTIFACTS}`);
} catch (e) {
  await shot(page, 'failure').catch(() => undefined);
  console.error(e);
  if (pageErrors.length) console.error('page errors:', pageErrors);
  process.exitCode = 1;
} finally {
  await browser.close();
}
