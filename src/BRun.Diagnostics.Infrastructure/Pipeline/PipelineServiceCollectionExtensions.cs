using BRun.Diagnostics.Core.Validation;
using BRun.Diagnostics.Infrastructure.Claude;
using BRun.Diagnostics.Infrastructure.RateLimits;
using BRun.Diagnostics.Infrastructure.Design;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;

namespace BRun.Diagnostics.Infrastructure.Pipeline;

public static class PipelineServiceCollectionExtensions
{
    /// <summary>
    /// Registers runs, the queue, the task handler and (when <c>Worker:Enabled</c>, the default) the hosted
    /// <see cref="BatchGenerationWorker"/>. Needs <c>AddDiagnosticsInfrastructure</c> and <c>AddClaudeMessagesClient</c>.
    /// </summary>
    public static IServiceCollection AddGenerationPipeline(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        services.AddOptions<WorkerOptions>()
            .Bind(configuration.GetSection(WorkerOptions.SectionName))
            .ValidateDataAnnotations()
            .Validate(o => o.HeartbeatInterval < o.LeaseDuration, "Worker:HeartbeatInterval must be shorter than Worker:LeaseDuration.")
            .ValidateOnStart();

        services.AddOptions<RateLimitOptions>()
            .Bind(configuration.GetSection(RateLimitOptions.SectionName))
            .ValidateDataAnnotations()
            .ValidateOnStart();

        services.TryAddSingleton(TimeProvider.System);

        // Task outcomes, truncations, requeues and lease rescues are counted where they are stored.
        services.AddMetrics();
        services.TryAddSingleton<Telemetry.DiagnosticsMetrics>();
        services.TryAddSingleton<RateLimitStore>();
        services.TryAddSingleton<RateLimitPacer>();
        services.AddSingleton<IClaudeResponseHeadObserver>(sp => sp.GetRequiredService<RateLimitPacer>());
        services.AddOptions<ApiRetryOptions>()
            .Bind(configuration.GetSection(ApiRetryOptions.SectionName))
            .ValidateDataAnnotations()
            .Validate(o => o.BaseDelay <= o.MaxDelay, "ApiRetry:BaseDelay must not exceed ApiRetry:MaxDelay.")
            .ValidateOnStart();

        services.TryAddSingleton(Core.Pricing.PriceTable.CreateDefault());
        services.TryAddSingleton<GenerationCallStore>();
        services.TryAddSingleton<ResponseValidator>();
        services.TryAddSingleton<GenerationQueue>();
        services.TryAddSingleton<RunStore>();
        services.TryAddSingleton<Reruns.RunRerunStore>();
        services.AddGenerationDesign();
        services.TryAddSingleton<GenerationOutcomeStore>();
        services.TryAddSingleton<IGenerationTaskHandler, GenerationTaskHandler>();

        var worker = configuration.GetSection(WorkerOptions.SectionName).Get<WorkerOptions>() ?? new WorkerOptions();
        if (worker.Enabled)
        {
            services.TryAddSingleton<BatchGenerationWorker>();
            services.AddHostedService(sp => sp.GetRequiredService<BatchGenerationWorker>());

            // The host must wait for the drain: in-flight tasks finish or are released before the process exits.
            services.Configure<HostOptions>(o =>
            {
                var needed = worker.ShutdownDeadline + TimeSpan.FromSeconds(10);
                if (o.ShutdownTimeout < needed)
                {
                    o.ShutdownTimeout = needed;
                }
            });
        }

        return services;
    }
}
