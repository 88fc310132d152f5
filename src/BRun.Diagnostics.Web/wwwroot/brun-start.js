// Starts Blazor (blazor.web.js is loaded with autostart="false") once the document is parsed: the prerendered
// components' persisted state is a comment at its very end. The circuit's connection goes straight to a WebSocket:
// the negotiate request it skips was one more round trip, on the browser's busiest moment, before a page could work.
// A proxy that does not pass WebSockets would need negotiation (and long polling) back; see docs/operations.md.
(() => {
  const start = () => Blazor.start({
    circuit: {
      configureSignalR: builder => builder.withUrl('_blazor', { skipNegotiation: true, transport: 1 /* HttpTransportType.WebSockets */ }),
    },
  });
  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', start, { once: true });
  } else {
    start();
  }
})();
