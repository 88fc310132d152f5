using BRun.Diagnostics.Infrastructure.Health;
using BRun.Diagnostics.Infrastructure.Telemetry;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;
using OpenTelemetry;
using OpenTelemetry.Logs;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace BRun.Diagnostics.ServiceDefaults;

/// <summary>
/// One set of defaults for every deployable: OpenTelemetry traces, metrics and logs (exported over OTLP when the
/// standard <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set; Prometheus scraping when <c>Telemetry:PrometheusEnabled</c>),
/// the readiness checks, and the queue sampler.
/// </summary>
public static class ServiceDefaultsExtensions
{
    public static IHostApplicationBuilder AddServiceDefaults(this IHostApplicationBuilder builder, string serviceName)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddOptions<TelemetryOptions>()
            .Bind(builder.Configuration.GetSection(TelemetryOptions.SectionName))
            .ValidateDataAnnotations()
            .ValidateOnStart();
        var telemetry = builder.Configuration.GetSection(TelemetryOptions.SectionName).Get<TelemetryOptions>() ?? new TelemetryOptions();

        builder.Services.AddMetrics();
        builder.Services.TryAddSingleton<DiagnosticsMetrics>();
        builder.Services.AddHostedService<QueueSampler>();
        builder.Services.AddDiagnosticsHealthChecks();

        // Every log line carries the trace and span it was written in, in the console and in OTLP log records.
        builder.Logging.Configure(o => o.ActivityTrackingOptions = ActivityTrackingOptions.TraceId | ActivityTrackingOptions.SpanId);
        builder.Logging.AddOpenTelemetry(o =>
        {
            o.IncludeScopes = true;
            o.IncludeFormattedMessage = true;
        });

        var otel = builder.Services.AddOpenTelemetry()
            .ConfigureResource(r => r.AddService(serviceName))
            .WithTracing(t => t
                .AddSource(DiagnosticsTelemetry.SourceName)
                .AddAspNetCoreInstrumentation(o => o.Filter = context => !context.Request.Path.StartsWithSegments("/healthz", StringComparison.Ordinal))
                .AddHttpClientInstrumentation()
                .AddNpgsql())
            .WithMetrics(m =>
            {
                m.AddMeter(DiagnosticsTelemetry.MeterName)
                    // The dashboard's circuits (ASP.NET Core 10): how many are open and connected, how long they live,
                    // navigations and how long browser events take to handle. Not the Lifecycle meter: a series per
                    // component type and bucket, and its durations count the awaits between renders. The worker has no
                    // circuits and reports none.
                    .AddMeter("Microsoft.AspNetCore.Components", "Microsoft.AspNetCore.Components.Server.Circuits")
                    .AddAspNetCoreInstrumentation()
                    .AddHttpClientInstrumentation()
                    .AddNpgsqlInstrumentation();
                if (telemetry.PrometheusEnabled)
                {
                    m.AddPrometheusExporter();
                }
            });

        // The standard variables decide: no endpoint, no exporter (and no failed connection attempts in the log).
        if (!string.IsNullOrWhiteSpace(builder.Configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]))
        {
            otel.UseOtlpExporter();
        }

        return builder;
    }

    /// <summary>For processes without a web UI: a probe listener for health (and metrics) when <c>Health:ProbeUrls</c> is set.</summary>
    public static IHostApplicationBuilder AddHealthProbeServer(this IHostApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddOptions<HealthProbeOptions>().Bind(builder.Configuration.GetSection(HealthProbeOptions.SectionName));
        builder.Services.AddSingleton<HealthProbeServer>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<HealthProbeServer>());
        return builder;
    }

    /// <summary>Maps <c>/metrics</c> when Prometheus scraping is on. Anonymous, like health: protect it at the network edge.</summary>
    public static IEndpointRouteBuilder MapServiceDefaults(this IEndpointRouteBuilder endpoints, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        ArgumentNullException.ThrowIfNull(configuration);
        endpoints.MapDiagnosticsHealthChecks();
        if (configuration.GetValue<bool>($"{TelemetryOptions.SectionName}:{nameof(TelemetryOptions.PrometheusEnabled)}"))
        {
            endpoints.MapPrometheusScrapingEndpoint().AllowAnonymous();
        }

        return endpoints;
    }
}
