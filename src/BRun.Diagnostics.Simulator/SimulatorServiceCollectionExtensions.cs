using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace BRun.Diagnostics.Simulator;

public static class SimulatorServiceCollectionExtensions
{
    /// <summary>
    /// Runs the fake Claude inside this host on <see cref="SimulatorOptions.ListenUrl"/>, with options bound from the
    /// <c>Simulator</c> section. Register it before anything that calls Claude at start-up: hosted services start
    /// in registration order. Point <c>Claude:BaseUrl</c> at the same URL.
    /// </summary>
    public static IServiceCollection AddClaudeSimulator(this IServiceCollection services, Action<SimulatorOptions>? configure = null)
    {
        services.TryAddSingleton(TimeProvider.System);
        var options = services.AddOptions<SimulatorOptions>().BindConfiguration(SimulatorOptions.SectionName);
        if (configure is not null)
        {
            options.Configure(configure);
        }

        options.ValidateDataAnnotations().ValidateOnStart();
        services.TryAddSingleton<ClaudeSimulatorHostedService>();
        services.AddHostedService(provider => provider.GetRequiredService<ClaudeSimulatorHostedService>());
        return services;
    }
}
