namespace BRun.Diagnostics.Web;

/// <summary>Registers the dashboard's services, options and hosted services.</summary>
public static class WebHostExtensions
{
    public static IHostApplicationBuilder AddDiagnosticsWeb(this IHostApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder;
    }
}
