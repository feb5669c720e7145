// The dashboard's whole lifecycle in headless Chromium (Debian's package), driven by
// playwright-core: sign in with the keyboard, create a block and upload two versions, create a
// webhook and copy its URL from the clipboard, fire it as a sender would, watch the run appear
// without reloading, open it, replay it, roll the block back, look at the overview; then the
// cross-team and read-only checks. Screenshots of the main pages go to UI_SCREENSHOTS.
//
// Run by tests/tests/ui_browser.rs, which starts the real server and passes:
//   UI_BASE_URL, UI_ADMIN_KEY, UI_OTHER_KEY, UI_EXECUTE_KEY, UI_WASM_ECHO, UI_WASM_HELLO,
//   UI_SCREENSHOTS, CHROMIUM_PATH; playwright-core is resolved from NODE_PATH.
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { createRequire } from 'node:module';

const require = createRequire(join(process.env.NODE_PATH, 'noop.js'));
const { chromium } = require('playwright-core');

const base = process.env.UI_BASE_URL;
const shots = process.env.UI_SCREENSHOTS;
mkdirSync(shots, { recursive: true });
const ZONE = 'Europe/Berlin';

/**
 * Runs axe-core's WCAG 2 A/AA rules on the page; fails on any serious or critical violation.
 * (axe is injected as a script, which the dashboard's CSP rightly refuses: audits run in a
 * context that bypasses it, the journey itself in one that does not.)
 */
async function audit(page, name) {
    await page.addScriptTag({ path: require.resolve('axe-core/axe.min.js') });
    const violations = await page.evaluate(async () => {
        const result = await window.axe.run(document, { runOnly: ['wcag2a', 'wcag2aa', 'wcag21aa'] });
        return result.violations
            .filter((v) => v.impact === 'serious' || v.impact === 'critical')
            .map((v) => `${v.id} (${v.impact}): ${v.help} at ${v.nodes.map((n) => n.target.join(' ')).slice(0, 3).join(', ')}`);
    });
    assert.deepEqual(violations, [], `accessibility of ${name}`);
}

/** POSTs an event as a sender would; the answer's status. */
async function send(url, secret, body = { name: 'Sender' }) {
    const headers = { 'content-type': 'application/json' };
    if (secret) headers.authorization = `Bearer ${secret}`;
    const response = await fetch(url, { method: 'POST', headers, body: JSON.stringify(body) });
    await response.arrayBuffer();
    return response.status;
}

function step(name) {
    console.log(`- ${name}`);
}

async function shot(page, name) {
    await page.screenshot({ path: join(shots, `${name}.png`), fullPage: true });
}

/** A browser context like a person's: a laptop window in Berlin, clipboard allowed. */
async function person(browser, viewport = { width: 1280, height: 860 }, bypassCSP = false) {
    const context = await browser.newContext({ viewport, timezoneId: ZONE, locale: 'en-GB', colorScheme: 'light', bypassCSP });
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: base });
    const page = await context.newPage();
    const problems = [];
    page.on('pageerror', (error) => problems.push(`uncaught: ${error.message}`));
    page.on('console', (message) => {
        if (message.type() === 'error' && /Content Security Policy|SyntaxError|TypeError/.test(message.text())) {
            problems.push(`console: ${message.text()}`);
        }
    });
    page.setDefaultTimeout(15_000);
    return { context, page, problems };
}

/** Signs in with the keyboard only: Tab to the field, type, Enter. */
async function signIn(page, key) {
    await page.goto(`${base}/ui/`);
    await page.getByRole('heading', { name: 'Sign in to wasmhook' }).waitFor();
    for (let i = 0; i < 10; i++) {
        if (await page.evaluate(() => document.activeElement && document.activeElement.id === 'api-key')) break;
        await page.keyboard.press('Tab');
    }
    await page.keyboard.type(key);
    await page.keyboard.press('Enter');
    await page.getByRole('navigation', { name: 'Main' }).waitFor();
    const stored = await page.evaluate(() => JSON.stringify({ ...localStorage }) + JSON.stringify({ ...sessionStorage }) + document.cookie);
    assert.ok(!stored.includes(key.split('-').pop()), 'the key is kept nowhere the page can read');
}

async function main() {
    const browser = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH, args: ['--no-sandbox'] });
    try {
        const { page, problems } = await person(browser);

        step('sign in');
        await signIn(page, process.env.UI_ADMIN_KEY);
        await page.getByTestId('team-name').filter({ hasText: 'default' }).waitFor();

        step('create a block and upload two versions');
        await page.getByRole('link', { name: 'Blocks' }).click();
        await page.getByText('No blocks yet').waitFor();
        await page.getByLabel('Name').fill('greeter');
        await page.getByRole('button', { name: 'Create block' }).click();
        await page.getByRole('heading', { name: 'greeter' }).waitFor();
        const blockId = page.url().split('/').pop();
        await page.getByTestId('upload-file').setInputFiles(process.env.UI_WASM_ECHO);
        await page.getByTestId('upload').click();
        await page.getByText('Version 1 uploaded, compiled and active.').waitFor();
        await page.getByTestId('upload-file').setInputFiles(process.env.UI_WASM_HELLO);
        await page.getByTestId('upload').click();
        await page.getByText('Version 2 uploaded, compiled and active.').waitFor();
        await page.locator('[data-testid=versions] tbody tr').nth(1).waitFor();
        assert.equal(await page.locator('[data-testid=versions] tbody tr').count(), 2);
        assert.match(await page.locator('tr[data-version="2"]').innerText(), /active/);
        await shot(page, 'block');

        step('create a webhook for it and copy its URL');
        await page.getByRole('link', { name: 'Webhooks', exact: true }).last().click();
        await page.getByRole('heading', { name: 'New webhook' }).waitFor();
        await page.getByTestId('webhook-target').selectOption(blockId);
        await page.getByLabel(/Capture each call's headers/).check();
        await page.getByTestId('create-webhook').click();
        const created = page.getByTestId('created-webhook');
        await created.waitFor();
        const shownUrl = await created.getByTestId('webhook-url').innerText();
        const secret = await created.getByTestId('webhook-secret').innerText();
        await created.getByTestId('copy-url').click();
        await created.getByText('Copied').waitFor();
        const copied = await page.evaluate(() => navigator.clipboard.readText());
        assert.equal(copied, shownUrl, 'the clipboard holds the URL shown');
        assert.match(copied, new RegExp(`^${base}/api/webhooks/[0-9a-f-]{36}$`));
        await shot(page, 'webhooks');

        step('fire it as a sender, and see the run appear without a reload');
        await page.getByRole('link', { name: 'Executions' }).click();
        await page.getByText('No executions yet').waitFor();
        const fired = await fetch(copied, {
            method: 'POST',
            headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json', 'idempotency-key': 'order-1042' },
            body: JSON.stringify({ name: 'Grace' }),
        });
        assert.equal(fired.status, 200, await fired.clone().text());
        const firedId = (await fired.json()).execution_id;
        assert.ok(firedId, 'the sender is told the execution id');
        const row = page.locator('[data-testid=executions] tbody tr').first();
        await row.waitFor();
        assert.match(await row.innerText(), /succeeded/);
        await page.getByTestId('status-counts').getByText('succeeded').waitFor();
        await shot(page, 'executions');

        step('open it');
        await row.getByRole('link').first().click();
        await page.getByRole('heading', { name: /^Execution / }).waitFor();
        const executionId = page.url().split('/').pop();
        assert.equal(executionId, firedId);
        assert.match(await page.getByTestId('output').innerText(), /hello, Grace/);
        assert.match(await page.getByTestId('input-data').innerText(), /Grace/);
        assert.equal(await page.getByTestId('idempotency-key').innerText(), 'order-1042');
        assert.match(await page.getByTestId('input-headers').innerText(), /idempotency-key/i, 'captured headers are shown');
        const title = await page.locator('time').first().getAttribute('title');
        assert.ok(title.includes(ZONE), `times are in the viewer's zone: ${title}`);
        await shot(page, 'execution');

        step('replay it, with the keyboard');
        await page.getByTestId('replay').focus();
        await page.keyboard.press('Enter');
        await page.waitForURL((url) => !url.pathname.endsWith(executionId));
        await page.getByTestId('replay-of').filter({ hasText: executionId.slice(-8) }).waitFor();
        await page.locator('h1 .status-succeeded').waitFor();
        assert.match(await page.getByTestId('output').innerText(), /hello, Grace/);

        step('replay with version 1');
        const firstReplay = page.url();
        await page.getByTestId('replay-version').selectOption('1');
        await page.getByTestId('replay').click();
        await page.waitForURL((url) => url.href !== firstReplay);
        await page.getByTestId('replay-of').filter({ hasText: firstReplay.split('/').pop().slice(-8) }).waitFor();
        await page.locator('h1 .status-succeeded').waitFor();
        const shown = await page.evaluate(() => document.querySelector('main').innerText);
        assert.match(await page.getByTestId('output').innerText(), /"name": "Grace"/, `version 1 echoes its data: ${page.url()}\n${shown}`);

        step('roll the block back to version 1');
        await page.goto(`${base}/ui/blocks/${blockId}`);
        await page.getByTestId('activate-1').click();
        await page.locator('tr[data-version="1"]').getByText('active').waitFor();
        const again = await fetch(copied, {
            method: 'POST',
            headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
            body: JSON.stringify({ name: 'Ada' }),
        });
        assert.deepEqual((await again.json()).output.data, { name: 'Ada' }, 'the rolled-back version (echo) runs');

        step('edit env and stop keeping inputs: the next run has the env, and shows no input and cannot be replayed');
        await page.getByTestId('env').fill('{"ECHO_ENV": "GREETING", "GREETING": "hi from the dashboard"}');
        await page.getByLabel(/Keep each run's input/).uncheck();
        await page.getByRole('button', { name: 'Save settings' }).click();
        await page.getByText('Saved. The next run uses these settings.').waitFor();
        const unkept = await fetch(copied, {
            method: 'POST',
            headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
            body: JSON.stringify({ card: '4242 4242 4242 4242' }),
        });
        const unkeptAnswer = await unkept.json();
        const unkeptId = unkeptAnswer.execution_id;
        assert.deepEqual(unkeptAnswer.output.env, { GREETING: 'hi from the dashboard' }, 'the edited env reaches the run');
        await page.goto(`${base}/ui/executions/${unkeptId}`);
        await page.getByTestId('input-hidden').waitFor();
        assert.equal(await page.getByTestId('input-data').count(), 0, 'the input is not shown');
        assert.ok(await page.getByTestId('replay').isDisabled(), 'nothing to replay');
        await page.goto(`${base}/ui/blocks/${blockId}`);
        await page.getByLabel(/Keep each run's input/).check();
        await page.getByRole('button', { name: 'Save settings' }).click();
        await page.getByText('Saved. The next run uses these settings.').waitFor();

        step("the webhook's lifecycle on one screen");
        await page.goto(`${base}/ui/webhooks`);
        await page.locator('[data-testid=webhooks] tbody tr').first().getByRole('link').click();
        await page.getByRole('heading', { name: 'State' }).waitFor();
        page.on('dialog', (dialog) => dialog.accept());
        await page.getByTestId('disable').click();
        await page.getByTestId('webhook-state').filter({ hasText: 'disabled' }).waitFor();
        assert.equal(await send(copied, secret), 403, 'a disabled webhook refuses calls');
        await page.getByTestId('arm').click();
        await page.getByTestId('webhook-state').filter({ hasText: 'armed: one call' }).waitFor();
        assert.equal(await send(copied, secret), 200, 'an armed webhook takes one call');
        assert.equal(await send(copied, secret), 403, '… and only one');
        await page.getByTestId('enable').click();
        await page.getByTestId('webhook-state').filter({ hasText: 'deployed' }).waitFor();
        await page.getByLabel('Grace period in seconds').fill('600');
        await page.getByTestId('rotate').click();
        const rotated = await page.getByTestId('webhook-secret').innerText();
        assert.notEqual(rotated, secret);
        assert.equal(await send(copied, rotated), 200, 'the new secret works');
        assert.equal(await send(copied, secret), 200, 'the old one too, during the grace period');
        await page.getByText('The previous one works until').waitFor();
        await page.getByLabel('Scheme').selectOption('stripe');
        await page.getByLabel('Signing secret (from the sender)').fill('whsec_dashboard_test_secret_0123456789');
        await page.getByRole('button', { name: 'Save signature check' }).click();
        await page.getByText('Checked: stripe').waitFor();
        assert.equal(await send(copied, rotated), 401, 'an unsigned call is refused');
        await page.getByRole('button', { name: 'Remove', exact: true }).click();
        await page.getByText('Not checked').waitFor();
        await shot(page, 'webhook');
        await page.getByTestId('regenerate').click();
        await page.waitForURL((url) => !copied.endsWith(url.pathname.split('/').pop()));
        const moved = await page.getByTestId('webhook-url').innerText();
        assert.notEqual(moved, copied);
        assert.equal(await send(copied, rotated), 410, 'the old URL is gone');
        assert.equal(await send(moved, rotated), 200, 'the new URL works');
        await page.getByTestId('delete').click();
        await page.getByRole('heading', { name: 'Webhooks' }).waitFor();
        assert.equal(await send(moved, rotated), 410, 'a deleted webhook answers 410');

        step('a doc with a dataset');
        await page.getByRole('link', { name: 'Docs' }).click();
        await page.getByText('No docs yet').waitFor();
        await page.getByLabel('Name').fill('orders');
        await page.getByLabel('Block').selectOption(blockId);
        await page.getByRole('button', { name: 'Create doc' }).click();
        await page.locator('[data-testid=datasets] tbody tr').filter({ hasText: 'greeter' }).waitFor();

        step('a long payload is folded behind a summary');
        const big = Object.fromEntries(Array.from({ length: 60 }, (_, i) => [`field${i}`, `value ${i}`]));
        const bigRun = await fetch(`${base}/v2/webhook/blocks/${blockId}/execute`, {
            method: 'POST',
            headers: { authorization: `Bearer ${process.env.UI_ADMIN_KEY}`, 'content-type': 'application/json' },
            body: JSON.stringify({ data: big }),
        });
        await page.goto(`${base}/ui/executions/${(await bigRun.json()).execution_id}`);
        const fold = page.locator('details.fold').filter({ hasText: /Show output \(\d+ lines/ });
        await fold.waitFor();
        assert.equal(await fold.getByTestId('output').isVisible(), false, 'folded at first');
        await fold.locator('summary').click();
        assert.match(await fold.getByTestId('output').innerText(), /value 59/);

        step('pages that do not exist, and paths that are not ids');
        for (const path of ['/ui/nowhere', '/ui/executions/%E0', '/ui/docs/..%2F..%2Fv1%2Fkeys', '/ui/blocks/not-an-id']) {
            await page.goto(`${base}${path}`);
            await page.getByRole('heading', { name: 'Not found' }).waitFor();
        }

        step('the overview charts the hour');
        await page.getByRole('link', { name: 'Overview', exact: true }).click();
        await page.getByTestId('runs-chart').waitFor();
        await page.getByText('Show the figures as a table').click();
        await page.locator('details.fold table').waitFor();
        assert.ok(Number(await page.getByTestId('overview-runs').innerText()) >= 4);
        await shot(page, 'overview');

        step('a phone-sized screen');
        const phone = await person(browser, { width: 390, height: 844 });
        await signIn(phone.page, process.env.UI_ADMIN_KEY);
        await phone.page.goto(`${base}/ui/executions/${executionId}`);
        await phone.page.getByTestId('output').waitFor();
        const overflow = await phone.page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
        assert.ok(overflow <= 0, `nothing wider than the phone (${overflow}px over)`);
        await shot(phone.page, 'execution-phone');
        await phone.context.close();

        step("another team's session cannot open this execution");
        const other = await person(browser);
        await signIn(other.page, process.env.UI_OTHER_KEY);
        await other.page.goto(`${base}/ui/executions/${executionId}`);
        await other.page.getByRole('alert').filter({ hasText: /not found/i }).waitFor();
        assert.equal(await other.page.getByTestId('output').count(), 0);
        await other.page.goto(`${base}/ui/executions`);
        await other.page.getByText('No executions yet').waitFor();
        await other.context.close();

        step('an execute key sees runs but cannot change anything');
        const viewer = await person(browser);
        await signIn(viewer.page, process.env.UI_EXECUTE_KEY);
        assert.equal(await viewer.page.getByRole('link', { name: 'Blocks' }).count(), 0, 'no management pages in its menu');
        await viewer.page.goto(`${base}/ui/executions`);
        await viewer.page.locator('[data-testid=executions] tbody tr').first().waitFor();
        await viewer.page.goto(`${base}/ui/executions/${executionId}`);
        await viewer.page.getByTestId('output').waitFor();
        await viewer.page.getByText('Replaying needs an admin key.').waitFor();
        assert.equal(await viewer.page.getByTestId('replay').count(), 0, 'no replay button');
        await viewer.page.goto(`${base}/ui/blocks/${blockId}`);
        await viewer.page.getByRole('heading', { name: 'Needs an admin key' }).waitFor();
        assert.equal(await viewer.page.getByTestId('upload').count(), 0, 'no upload form');
        assert.deepEqual(viewer.problems, []);
        await viewer.context.close();

        step('accessibility (axe-core, WCAG 2 A/AA) of every page, light and dark');
        const auditor = await person(browser, { width: 1280, height: 860 }, true);
        await auditor.page.goto(`${base}/ui/`);
        await auditor.page.getByRole('heading', { name: 'Sign in to wasmhook' }).waitFor();
        await audit(auditor.page, 'the sign-in page');
        await signIn(auditor.page, process.env.UI_ADMIN_KEY);
        const pages = ['/ui/', '/ui/executions', `/ui/executions/${executionId}`, '/ui/blocks', `/ui/blocks/${blockId}`, '/ui/docs', '/ui/webhooks'];
        for (const scheme of ['light', 'dark']) {
            await auditor.page.emulateMedia({ colorScheme: scheme });
            for (const path of pages) {
                await auditor.page.goto(`${base}${path}`);
                await auditor.page.locator('.loaded').last().waitFor();
                await auditor.page.waitForFunction(() => !document.querySelector('[aria-busy=true]'));
                await audit(auditor.page, `${path} (${scheme})`);
            }
        }
        await auditor.context.close();

        step('sign out');
        await page.getByRole('button', { name: 'Sign out' }).click();
        await page.getByRole('heading', { name: 'Sign in to wasmhook' }).waitFor();
        await page.goto(`${base}/ui/executions`);
        await page.getByRole('heading', { name: 'Sign in to wasmhook' }).waitFor();
        await shot(page, 'signin');

        assert.deepEqual(problems, [], 'no script errors and no CSP violations');
        console.log('dashboard lifecycle: ok');
    } finally {
        await browser.close();
    }
}

main().catch((error) => {
    console.error(error);
    process.exit(1);
});
