using BRun.Diagnostics.Infrastructure.Health;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Configuration;
using OpenTelemetry.Metrics;

namespace BRun.Diagnostics.ServiceDefaults;

/// <summary>
/// Serves the host's health checks on <see cref="HealthProbeOptions.ProbeUrls"/> with a minimal Kestrel app of its own:
/// the worker process answers probes without carrying the dashboard. The checks themselves are the host's.
/// </summary>
public sealed partial class HealthProbeServer(
    HealthCheckService healthChecks,
    IServiceProvider services,
    IConfiguration configuration,
    IOptions<HealthProbeOptions> options,
    ILoggerFactory loggerFactory) : IHostedService, IAsyncDisposable
{
    private WebApplication? _app;

    /// <summary>The addresses bound once started (tests ask for port 0).</summary>
    public IReadOnlyList<string> Addresses { get; private set; } = [];

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (string.IsNullOrWhiteSpace(options.Value.ProbeUrls))
        {
            return;
        }

        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls(options.Value.ProbeUrls);
        builder.Logging.ClearProviders();
        builder.Services.AddSingleton(loggerFactory);
        builder.Services.AddSingleton(healthChecks);

        // The host's meters, so /metrics here shows what the worker measured.
        if (services.GetService<MeterProvider>() is { } meters)
        {
            builder.Services.AddSingleton(meters);
        }

        builder.Services.AddRouting();
        _app = builder.Build();
        _app.MapServiceDefaults(configuration);
        await _app.StartAsync(cancellationToken).ConfigureAwait(false);
        Addresses = [.. _app.Urls];
        Log.Listening(loggerFactory.CreateLogger<HealthProbeServer>(), string.Join(", ", Addresses));
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_app is not null)
        {
            await _app.StopAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.DisposeAsync().ConfigureAwait(false);
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 7400, Level = LogLevel.Information, Message = "Health probes listening on {Addresses}")]
        public static partial void Listening(ILogger logger, string addresses);
    }
}
