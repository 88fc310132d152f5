using System.Net;
using System.Net.Sockets;
using BRun.Diagnostics.Core.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace BRun.Diagnostics.Simulator;

/// <summary>Demo mode: the simulator runs in-process, and only when <c>Demo:Enabled</c> is true.</summary>
public static class DemoModeExtensions
{
    /// <summary>
    /// When <c>Demo:Enabled</c> is true, starts the simulator inside this host and points <c>Claude:BaseUrl</c> at it
    /// (whatever key or address is configured: demo mode was asked for explicitly). Returns whether it did.
    /// </summary>
    public static bool UseClaudeSimulatorInDemoMode(this IHostApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var configuration = builder.Configuration;
        // Decided before the host is built (the client's base address is bound at start); the options themselves are
        // bound by the infrastructure, which every host adds.
        var demo = configuration.GetSection(DemoOptions.SectionName).Get<DemoOptions>() ?? new DemoOptions();
        if (!demo.Enabled)
        {
            return false;
        }

        // Several hosts may run on one machine (web host and `brun worker`), so the default is a free port,
        // chosen before the host builds because the client's base address is bound at start.
        var url = configuration["Simulator:ListenUrl"] is { Length: > 0 } configured
            ? configured
            : $"http://127.0.0.1:{FreeLoopbackPort()}";
        configuration["Simulator:ListenUrl"] = url;
        configuration["Claude:BaseUrl"] = url;
        if (demo.OrganizationLimits)
        {
            foreach (var (key, value) in OrganizationLimitDefaults)
            {
                configuration[key] ??= value;
            }
        }

        builder.Services.AddClaudeSimulator();
        return true;
    }

    /// <summary>
    /// The organisation the demo's simulator plays: Tier 1's 50 requests per minute, and 5 times Tier 1's token limits
    /// (30,000 input and 8,000 output tokens per minute for Sonnet), so a demo run of a few dozen conversations
    /// (about 1,300 output tokens each, max_tokens 4,096 reserved per call) still finishes in a minute or two while the
    /// output limit binds and the run page shows the pacing wait. The simulator's random 429s are off: with real
    /// limits, a 429 comes from exceeding them, as with the API.
    /// </summary>
    public static IReadOnlyDictionary<string, string> OrganizationLimitDefaults { get; } = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["Simulator:RequestsPerMinute"] = "50",
        ["Simulator:InputTokensPerMinute"] = "150000",
        ["Simulator:OutputTokensPerMinute"] = "40000",
        ["Simulator:RateLimitedRate"] = "0",
    };

    private static int FreeLoopbackPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
