using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace BRun.Diagnostics.Simulator;

/// <summary>Runs a <see cref="ClaudeSimulatorServer"/> for the lifetime of the host (demo mode).</summary>
public sealed class ClaudeSimulatorHostedService(
    IOptions<SimulatorOptions> options,
    ILoggerFactory loggerFactory,
    TimeProvider time) : IHostedService, IAsyncDisposable
{
    private ClaudeSimulatorServer? _server;

    /// <summary>The running simulator's address. Throws until the host has started it.</summary>
    public Uri BaseUrl => _server?.BaseUrl ?? throw new InvalidOperationException("The Claude simulator has not started yet.");

    public async Task StartAsync(CancellationToken cancellationToken) =>
        _server = await ClaudeSimulatorServer.StartAsync(options.Value, options.Value.ListenUrl, loggerFactory, time, cancellationToken)
            .ConfigureAwait(false);

    public async Task StopAsync(CancellationToken cancellationToken) => await DisposeAsync().ConfigureAwait(false);

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _server, null) is { } server)
        {
            await server.DisposeAsync().ConfigureAwait(false);
        }
    }
}
