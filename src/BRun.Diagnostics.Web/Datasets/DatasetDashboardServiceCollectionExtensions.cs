namespace BRun.Diagnostics.Web.Datasets;

public static class DatasetDashboardServiceCollectionExtensions
{
    /// <summary>The Datasets page's services: the background scan runner (one per host) and the per-circuit page service.</summary>
    public static IServiceCollection AddDatasetDashboard(this IServiceCollection services)
    {
        services.AddSingleton<DashboardScanRunner>();
        services.AddHostedService(sp => sp.GetRequiredService<DashboardScanRunner>());
        services.AddScoped<DatasetDashboardService>();
        return services;
    }
}
