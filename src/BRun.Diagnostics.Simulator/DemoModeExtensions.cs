using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;

namespace BRun.Diagnostics.Simulator;

/// <summary>Demo mode: with no Claude credentials and no Claude address configured, run the simulator in-process.</summary>
public static class DemoModeExtensions
{
    /// <summary>
    /// Starts the simulator inside this host and points <c>Claude:BaseUrl</c> at it, unless an API key
    /// (<c>Claude:ApiKey</c> / <c>ANTHROPIC_API_KEY</c>) or an address (<c>Claude:BaseUrl</c> /
    /// <c>ANTHROPIC_BASE_URL</c>) is configured, or <c>Simulator:Enabled</c> is false. Returns whether it did.
    /// </summary>
    public static bool UseClaudeSimulatorWhenNoApiKey(this IHostApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var configuration = builder.Configuration;
        if (HasValue(configuration, "Claude:ApiKey") || HasValue(configuration, "ANTHROPIC_API_KEY")
            || HasValue(configuration, "Claude:BaseUrl") || HasValue(configuration, "ANTHROPIC_BASE_URL")
            || (bool.TryParse(configuration["Simulator:Enabled"], out var enabled) && !enabled))
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
        builder.Services.AddClaudeSimulator();
        return true;
    }

    private static bool HasValue(IConfiguration configuration, string key) => !string.IsNullOrWhiteSpace(configuration[key]);

    private static int FreeLoopbackPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
