using BRun.Diagnostics.Infrastructure.Database;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace BRun.Diagnostics.Infrastructure.Alerts;

public static class AlertServiceCollectionExtensions
{
    /// <summary>
    /// Registers the alert store and (when <c>Alerts:SenderEnabled</c>, the default) the webhook sender. Needs
    /// <c>AddDiagnosticsInfrastructure</c>. Alerts are raised by database triggers, so nothing else runs for them.
    /// </summary>
    public static IServiceCollection AddRunAlerts(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        services.AddOptions<AlertOptions>()
            .Bind(configuration.GetSection(AlertOptions.SectionName))
            .ValidateDataAnnotations()
            .ValidateOnStart();
        services.TryAddSingleton(sp => new RunAlertStore(sp.GetRequiredService<IUserScopedConnectionFactory>()));
        services.AddHttpClient(AlertWebhookSender.HttpClientName);
        services.TryAddSingleton<AlertWebhookSender>();
        if (configuration.GetSection(AlertOptions.SectionName).Get<AlertOptions>() is not { SenderEnabled: false })
        {
            services.AddHostedService(sp => sp.GetRequiredService<AlertWebhookSender>());
        }

        return services;
    }
}
