using BRun.Diagnostics.Core.Pricing;
using BRun.Diagnostics.Infrastructure.Pipeline;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace BRun.Diagnostics.Infrastructure.Batches;

public static class BatchServiceCollectionExtensions
{
    /// <summary>
    /// Registers batch mode: the batch store, the results ingester and (when <c>Worker:Enabled</c> and
    /// <c>Batch:Enabled</c>, the defaults) the hosted <see cref="BatchCoordinator"/>. Needs <c>AddGenerationPipeline</c>.
    /// </summary>
    public static IServiceCollection AddBatchMode(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        services.AddOptions<BatchOptions>()
            .Bind(configuration.GetSection(BatchOptions.SectionName))
            .ValidateDataAnnotations()
            .Validate(o => o.MinPollInterval <= o.MaxPollInterval, "Batch:MinPollInterval must not exceed Batch:MaxPollInterval.")
            .ValidateOnStart();
        // Issue 8 binds the price table to options; until then (or without it) the defaults apply.
        services.TryAddSingleton(_ => PriceTable.CreateDefault());
        services.TryAddSingleton<MessageBatchStore>();
        services.TryAddSingleton<BatchResultIngester>();

        var worker = configuration.GetSection(WorkerOptions.SectionName).Get<WorkerOptions>() ?? new WorkerOptions();
        var batch = configuration.GetSection(BatchOptions.SectionName).Get<BatchOptions>() ?? new BatchOptions();
        if (worker.Enabled && batch.Enabled)
        {
            services.TryAddSingleton<BatchCoordinator>();
            services.AddHostedService(sp => sp.GetRequiredService<BatchCoordinator>());
        }

        return services;
    }
}
