using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace BRun.Diagnostics.Infrastructure.Retention;

public static class RetentionServiceCollectionExtensions
{
    /// <summary>
    /// Registers <see cref="RetentionService"/> and its options (section <c>Retention</c>, validated at start). With
    /// <paramref name="runPeriodically"/> (the web host) and <c>Retention:ServiceEnabled</c>, also the periodic service.
    /// Needs <c>AddDiagnosticsInfrastructure</c>.
    /// </summary>
    public static IServiceCollection AddRetention(this IServiceCollection services, IConfiguration configuration, bool runPeriodically)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        services.AddOptions<RetentionOptions>()
            .Bind(configuration.GetSection(RetentionOptions.SectionName))
            .ValidateDataAnnotations()
            .ValidateOnStart();
        services.TryAddSingleton<RetentionService>();
        if (runPeriodically && configuration.GetSection(RetentionOptions.SectionName).Get<RetentionOptions>() is not { ServiceEnabled: false })
        {
            services.AddHostedService<RetentionHostedService>();
        }

        return services;
    }
}
