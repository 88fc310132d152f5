using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace BRun.Diagnostics.Infrastructure.Claude;

public static class ClaudeServiceCollectionExtensions
{
    /// <summary>
    /// Registers <see cref="IClaudeMessagesClient"/> as a typed HttpClient and binds <see cref="ClaudeOptions"/> from
    /// the <c>Claude</c> section, with <c>ANTHROPIC_API_KEY</c> / <c>ANTHROPIC_BASE_URL</c> as fallbacks.
    /// </summary>
    public static IServiceCollection AddClaudeMessagesClient(
        this IServiceCollection services,
        Action<ClaudeOptions>? configure = null)
    {
        services.TryAddSingleton(TimeProvider.System);
        var options = services.AddOptions<ClaudeOptions>()
            .BindConfiguration(ClaudeOptions.SectionName)
            .Configure<IConfiguration>((o, configuration) =>
            {
                if (string.IsNullOrEmpty(o.ApiKey))
                {
                    o.ApiKey = configuration[ClaudeOptions.ApiKeyVariable];
                }

                var explicitBaseUrl = configuration[$"{ClaudeOptions.SectionName}:{nameof(ClaudeOptions.BaseUrl)}"];
                if (string.IsNullOrEmpty(explicitBaseUrl) && configuration[ClaudeOptions.BaseUrlVariable] is { Length: > 0 } fromEnvironment)
                {
                    o.BaseUrl = fromEnvironment;
                }
            });
        if (configure is not null)
        {
            options.Configure(configure);
        }

        options.ValidateDataAnnotations().ValidateOnStart();
        services.TryAddSingleton<ClaudeReadiness>();

        // Polly owns retries and each attempt has its own timeout, so the HttpClient must not cut in first.
        services.AddHttpClient<ClaudeMessagesClient>(http => http.Timeout = Timeout.InfiniteTimeSpan);
        services.AddHttpClient<IClaudeBatchesClient, ClaudeBatchesClient>(http => http.Timeout = Timeout.InfiniteTimeSpan);

        // Callers get the traced and measured client; the transport underneath knows nothing of telemetry.
        services.AddMetrics();
        services.TryAddSingleton<Telemetry.DiagnosticsMetrics>();
        services.AddOptions<Telemetry.TelemetryOptions>().BindConfiguration(Telemetry.TelemetryOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        services.AddTransient<IClaudeMessagesClient, Telemetry.InstrumentedClaudeMessagesClient>();
        services.AddHttpClient<IClaudeTokenCounter, ClaudeTokenCounter>();
        services.TryAddSingleton<ClaudeRequestWriter>();
        return services;
    }
}
