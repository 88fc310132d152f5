using BRun.Diagnostics.Infrastructure.Live;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace BRun.Diagnostics.Infrastructure.Health;

/// <summary>
/// Degraded (not unhealthy) while the LISTEN connection is down: pages still serve and workers still poll, but open
/// dashboards stop updating live until it reconnects.
/// </summary>
public sealed class LiveListenerHealthCheck(IServiceProvider services) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var listener = services.GetService<RunEventListener>();
        return Task.FromResult(listener switch
        {
            null => HealthCheckResult.Healthy("Live events are off in this process."),
            { IsListening: true } => HealthCheckResult.Healthy("The live-event listener is connected."),
            _ => HealthCheckResult.Degraded("The live-event listener is not connected: open dashboards do not update live until it reconnects."),
        });
    }
}
