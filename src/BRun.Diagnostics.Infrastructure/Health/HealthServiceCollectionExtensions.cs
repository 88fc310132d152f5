using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace BRun.Diagnostics.Infrastructure.Health;

/// <summary>
/// Liveness and readiness, the same for the web host and a worker process: <c>/healthz/live</c> says the process is
/// up (no dependency is consulted, so a database outage never gets the process restarted), <c>/healthz/ready</c> runs
/// every check tagged <see cref="ReadyTag"/> and names what is wrong.
/// </summary>
public static class HealthServiceCollectionExtensions
{
    public const string ReadyTag = "ready";
    public const string LivePath = "/healthz/live";
    public const string ReadyPath = "/healthz/ready";

    private static readonly TimeSpan CheckTimeout = TimeSpan.FromSeconds(5);
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { WriteIndented = false };

    public static IServiceCollection AddDiagnosticsHealthChecks(this IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);

        // Registered once, however many callers ask: a check name twice would fail every probe.
        if (services.Any(d => d.ServiceType == typeof(PostgresReadinessCheck)))
        {
            return services;
        }

        services.AddTransient<PostgresReadinessCheck>();

        // One storage client for every probe, rather than a new one per request.
        services.AddSingleton<BlobStorageReadinessCheck>();
        services.AddHealthChecks()
            .AddCheck<PostgresReadinessCheck>("postgres", HealthStatus.Unhealthy, [ReadyTag], CheckTimeout)
            .AddCheck<BlobStorageReadinessCheck>("blob_storage", HealthStatus.Unhealthy, [ReadyTag], CheckTimeout)
            .AddCheck<WorkerLoopHealthCheck>("worker_loop", HealthStatus.Unhealthy, [ReadyTag], CheckTimeout)
            .AddCheck<LiveListenerHealthCheck>("live_listener", HealthStatus.Degraded, [ReadyTag], CheckTimeout);
        return services;
    }

    public static IEndpointRouteBuilder MapDiagnosticsHealthChecks(this IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        var live = new HealthCheckOptions { Predicate = _ => false, ResponseWriter = WriteAsync };
        endpoints.MapHealthChecks(LivePath, live).AllowAnonymous();

        // The old single endpoint stays as liveness for scripts that poll it.
        endpoints.MapHealthChecks("/healthz", live).AllowAnonymous();
        endpoints.MapHealthChecks(ReadyPath, new HealthCheckOptions
        {
            Predicate = check => check.Tags.Contains(ReadyTag),
            ResponseWriter = WriteAsync,
        }).AllowAnonymous();
        return endpoints;
    }

    /// <summary>Status plus one line per check. Exceptions' texts are left out: the description already says what failed.</summary>
    public static Task WriteAsync(HttpContext context, HealthReport report)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(report);
        context.Response.ContentType = "application/json; charset=utf-8";
        var body = new
        {
            status = report.Status.ToString(),
            checks = report.Entries.Select(e => new
            {
                name = e.Key,
                status = e.Value.Status.ToString(),
                description = e.Value.Description,
                duration_ms = Math.Round(e.Value.Duration.TotalMilliseconds, 1),
            }),
        };
        return context.Response.WriteAsync(JsonSerializer.Serialize(body, Json));
    }
}
