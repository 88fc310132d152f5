// Starts Blazor (blazor.web.js is loaded with autostart="false") once the document is parsed: the prerendered
// components' persisted state is a comment at its very end. Two requests that stood between a page load and a working
// page, on the browser's busiest moment, are skipped:
// - the JS initializers: the dashboard has none (GET /_blazor/initializers answers [], which a test keeps true), so
//   they are given here as empty instead of fetched;
// - the negotiate request: the circuit's connection goes straight to a WebSocket. A proxy that does not pass
//   WebSockets would need negotiation (and long polling) back; see docs/operations.md.
//
// Pages link only the part of MudBlazor's stylesheet their first paint needs (FirstPaintStylesheet): a new tab parses
// the whole sheet again, which held back its first paint and the circuit. The whole sheet is added once the page works
// and the browser is idle (WholeStylesheetLoader calls brunStyles.addWhole after the circuit's first render; a static
// page, with no circuit, once Blazor has started), right behind the cut one and before app.css: the cascade is then
// the original one.
(() => {
  const addWholeNow = () => {
    const firstPaint = document.querySelector('link[data-brun-first-paint]');
    if (!firstPaint || document.getElementById('brun-whole-stylesheet')) {
      return;
    }
    const whole = document.createElement('link');
    whole.id = 'brun-whole-stylesheet';
    whole.rel = 'stylesheet';
    whole.href = firstPaint.dataset.brunFirstPaint;
    firstPaint.after(whole);
  };
  const addWhole = () => (window.requestIdleCallback ? requestIdleCallback(addWholeNow, { timeout: 500 }) : setTimeout(addWholeNow, 0));
  window.brunStyles = { addWhole };
  const start = () => Blazor.start({
    circuit: {
      initializers: { beforeStart: [], afterStarted: [] },
      configureSignalR: builder => builder
        .withUrl('_blazor', { skipNegotiation: true, transport: 1 /* HttpTransportType.WebSockets */ })
        .configureLogging(3 /* LogLevel.Warning: not two lines of connection chatter per page */),
    },
  }).finally(() => {
    if (document.querySelector('link[data-brun-static-page]')) {
      addWhole();
    }
    // An enhanced navigation (from a static page such as sign-in) replaces the head with the server's, which does not
    // have the whole sheet.
    Blazor.addEventListener('enhancedload', addWholeNow);
  });
  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', start, { once: true });
  } else {
    start();
  }
})();
