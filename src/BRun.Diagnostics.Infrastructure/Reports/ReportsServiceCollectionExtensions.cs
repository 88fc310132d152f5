using BRun.Diagnostics.Infrastructure.Live;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace BRun.Diagnostics.Infrastructure.Reports;

/// <summary>Registers the run report (its options and builder) on top of <see cref="InfrastructureServiceCollectionExtensions.AddDiagnosticsInfrastructure"/>.</summary>
public static class ReportsServiceCollectionExtensions
{
    public static IServiceCollection AddRunReports(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);
        services.AddOptions<RunReportOptions>()
            .Bind(configuration.GetSection(RunReportOptions.SectionName))
            .ValidateDataAnnotations()
            .ValidateOnStart();
        services.TryAddSingleton<RunProgressReader>();
        services.TryAddSingleton<RunReportBuilder>();
        return services;
    }
}
