using BRun.Diagnostics.Infrastructure.Users;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace BRun.Diagnostics.Infrastructure.Auth;

/// <summary>Registers local accounts, API tokens and the first-start admin seeding.</summary>
public static class AuthServiceCollectionExtensions
{
    /// <summary>
    /// Adds <see cref="LocalAccountService"/>, <see cref="UserAdministration"/>, <see cref="ApiTokenStore"/> and the hosted service that
    /// creates the configured admin on an empty database (<see cref="AuthOptions.SeedAdminPassword"/> empty: none). Call after
    /// <c>AddDiagnosticsInfrastructure</c>, whose migration runs first.
    /// </summary>
    public static IServiceCollection AddDiagnosticsAccounts(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        services.AddOptions<AuthOptions>()
            .Bind(configuration.GetSection(AuthOptions.SectionName))
            .ValidateDataAnnotations()
            .ValidateOnStart();
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<LocalAccountService>();
        services.TryAddSingleton<UserAdministration>();
        services.TryAddSingleton<ApiTokenStore>();
        services.AddOptions<LoginThrottleOptions>()
            .Bind(configuration.GetSection(LoginThrottleOptions.SectionName))
            .ValidateDataAnnotations()
            .ValidateOnStart();
        services.TryAddSingleton<LoginThrottle>();
        services.AddHostedService<SeedAdminHostedService>();

        return services;
    }
}
