using BRun.Diagnostics.Infrastructure.Pipeline;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;

namespace BRun.Diagnostics.Infrastructure.Health;

/// <summary>
/// Ready when this process's worker loop is turning. The loop waits at most one poll interval between claims, so a
/// loop that has not turned for <see cref="WorkerOptions.StuckAfter"/> is stuck (a hung query, a deadlock), and a
/// process manager should restart it. A process without a worker (Worker:Enabled=false) is healthy on this count.
/// </summary>
public sealed class WorkerLoopHealthCheck(IServiceProvider services, IOptions<WorkerOptions> options, TimeProvider timeProvider) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var worker = options.Value.Enabled ? services.GetService<BatchGenerationWorker>() : null;
        if (worker is null)
        {
            return Task.FromResult(HealthCheckResult.Healthy("No worker runs in this process."));
        }

        if (worker.RefusedBecause is { } refused)
        {
            return Task.FromResult(HealthCheckResult.Unhealthy($"The worker refused to start: {refused}"));
        }

        var lastTurn = worker.LastLoopTimestamp;
        if (lastTurn == 0)
        {
            return Task.FromResult(HealthCheckResult.Unhealthy("The worker loop has not started yet."));
        }

        var idle = timeProvider.GetElapsedTime(lastTurn);
        var stuckAfter = options.Value.StuckAfter;
        return Task.FromResult(idle > stuckAfter
            ? HealthCheckResult.Unhealthy($"The worker loop has not turned for {idle.TotalSeconds:F0} s (stuck after {stuckAfter.TotalSeconds:F0} s); {worker.InFlightCount} tasks in flight.")
            : HealthCheckResult.Healthy($"The worker loop turned {idle.TotalSeconds:F1} s ago; {worker.InFlightCount} tasks in flight."));
    }
}
