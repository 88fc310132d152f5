// Starts Blazor (blazor.web.js is loaded with autostart="false") once the document is parsed: the prerendered
// components' persisted state is a comment at its very end. Two requests that stood between a page load and a working
// page, on the browser's busiest moment, are skipped:
// - the JS initializers: the dashboard has none (GET /_blazor/initializers answers [], which a test keeps true), so
//   they are given here as empty instead of fetched;
// - the negotiate request: the circuit's connection goes straight to a WebSocket. A proxy that does not pass
//   WebSockets would need negotiation (and long polling) back; see docs/operations.md.
(() => {
  const start = () => Blazor.start({
    circuit: {
      initializers: { beforeStart: [], afterStarted: [] },
      configureSignalR: builder => builder
        .withUrl('_blazor', { skipNegotiation: true, transport: 1 /* HttpTransportType.WebSockets */ })
        .configureLogging(3 /* LogLevel.Warning: not two lines of connection chatter per page */),
    },
  });
  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', start, { once: true });
  } else {
    start();
  }
})();
