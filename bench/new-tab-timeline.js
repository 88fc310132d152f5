// Where a new tab's load goes: navigation timing, the rows' and the circuit's first frames, and every WebSocket frame's
// time and size, one JSON line per new tab (docs/dashboard.md, "Where a new tab's 400 ms go"). TRACE=1 also writes a
// Chromium trace of the last tab to trace.json.
// Usage (after `dotnet build bench/BRun.Diagnostics.DashboardLoad -c Release`, against a running dashboard):
//   BRUN_URL=http://127.0.0.1:5090 BRUN_EMAIL=... BRUN_PASSWORD=... [N=5] [WARM=10] [TRACE=1] \
//     bench/BRun.Diagnostics.DashboardLoad/bin/Release/net10.0/.playwright/node/linux-x64/node bench/new-tab-timeline.js
const path = require('path');
const { chromium } = require(path.join(__dirname, 'BRun.Diagnostics.DashboardLoad/bin/Release/net10.0/.playwright/package'));
(async () => {
  const browser = await chromium.launch({ executablePath: process.env.BRUN_CHROMIUM || '/usr/bin/chromium', args: ['--no-sandbox','--disable-gpu'] });
  const context = await browser.newContext({ baseURL: process.env.BRUN_URL, viewport: { width: 1366, height: 768 } });
  await context.addInitScript(() => {
    const marks = window.__brunMarks = {};
    const watch = { rows: 'tr.brun-failure-row', interactive: ".brun-failures-page[data-interactive='true']" };
    new MutationObserver(() => {
      for (const [name, selector] of Object.entries(watch)) {
        if (!(name in marks) && document.querySelector(selector)) { marks[name] = null; requestAnimationFrame(() => { marks[name] = performance.now(); }); }
      }
    }).observe(document, { childList: true, subtree: true, attributes: true });
    const W = window.WebSocket;
    window.WebSocket = function (...a) { const ws = new W(...a); marks.wsNew = performance.now(); let n = 0;
      ws.addEventListener('open', () => marks.wsOpen = performance.now());
      const send = ws.send.bind(ws); ws.send = (d) => { n++; if (!marks.firstSend) marks.firstSend = performance.now(); marks['send' + n] = performance.now(); marks['sendLen' + n] = (d.byteLength || d.length); return send(d); };
      let m = 0; ws.addEventListener('message', (e) => { m++; if (m <= 6) { marks['recv' + m] = performance.now(); marks['recvLen' + m] = (e.data.byteLength || e.data.length || e.data.size); } });
      return ws; };
    window.WebSocket.prototype = W.prototype; Object.assign(window.WebSocket, W);
  });
  const page = await context.newPage();
  await page.goto('/account/login?returnUrl=%2Fconversations%2Ffailed');
  await page.fill('input[name=Email]', process.env.BRUN_EMAIL);
  await page.fill('input[name=Password]', process.env.BRUN_PASSWORD);
  await page.click('button[type=submit]');
  await page.waitForURL('**/conversations/failed', {timeout: 15000});
  for (let i = 0; i < (+process.env.WARM || 10); i++) { await page.goto('/conversations/failed'); await page.waitForSelector(".brun-failures-page[data-interactive='true']"); }
  const N = +process.env.N || 7;
  for (let i = 0; i < N; i++) {
    const tab = await context.newPage();
    if (process.env.TRACE && i === N - 1) await browser.startTracing(tab, { path: 'trace.json', categories: ['devtools.timeline', 'blink', 'v8', 'loading', 'disabled-by-default-devtools.timeline'] });
    await tab.goto('/conversations/failed', { waitUntil: 'commit' });
    await new Promise(r => setTimeout(r, 2000));
    const r = await tab.evaluate(() => {
      const n = performance.getEntriesByType('navigation')[0];
      const res = performance.getEntriesByType('resource').filter(e => /blazor|negotiate|first-paint|mud/i.test(e.name)).map(e => [e.name.replace(/.*\//, '').slice(0, 30), Math.round(e.startTime), Math.round(e.responseEnd)]);
      const o = { reqStart: n.requestStart, respStart: n.responseStart, respEnd: n.responseEnd, domInteractive: n.domInteractive, dcl: n.domContentLoadedEventEnd, load: n.loadEventEnd, size: n.transferSize, ...window.__brunMarks };
      for (const k in o) o[k] = Math.round(o[k]);
      o.res = res; return o;
    });
    console.log(JSON.stringify(r));
    if (process.env.TRACE && i === N - 1) await browser.stopTracing();
    await tab.close();
    await new Promise(r => setTimeout(r, 500));
  }
  await browser.close();
})();
