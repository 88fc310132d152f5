using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;

namespace BRun.Diagnostics.Infrastructure.Live;

/// <summary>Registers the live run-event plumbing: the hub (singleton + its delivery loop), the LISTEN loop, and the run read model.</summary>
public static class LiveServiceCollectionExtensions
{
    /// <summary>
    /// Adds <see cref="LiveEventHub"/> and, unless <see cref="LiveEventOptions.ListenerEnabled"/> is false,
    /// <see cref="RunEventListener"/>. Needs an <c>NpgsqlDataSource</c> registered by the caller.
    /// </summary>
    public static IServiceCollection AddLiveRunEvents(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        services.AddOptions<LiveEventOptions>()
            .Bind(configuration.GetSection(LiveEventOptions.SectionName))
            .ValidateDataAnnotations()
            .ValidateOnStart();
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<LiveEventHub>();
        services.TryAddSingleton<RunProgressReader>();
        services.AddHostedService(sp => sp.GetRequiredService<LiveEventHub>());
        if (configuration.GetValue(LiveEventOptions.SectionName + ":" + nameof(LiveEventOptions.ListenerEnabled), true))
        {
            services.TryAddSingleton<RunEventListener>();
            services.AddHostedService(sp => sp.GetRequiredService<RunEventListener>());
        }

        return services;
    }
}
