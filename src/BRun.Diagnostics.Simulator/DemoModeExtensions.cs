using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace BRun.Diagnostics.Simulator;

/// <summary>Options of demo mode (configuration section <c>Demo</c>).</summary>
public sealed class DemoOptions
{
    public const string SectionName = "Demo";

    /// <summary>
    /// Run the built-in Claude simulator in this host and send every call there. Only ever on when asked
    /// (<c>./brun.sh run</c> sets it when <c>ANTHROPIC_API_KEY</c> is unset): a production host that lost its key must
    /// stop, not write simulated conversations into training data. Default: false.
    /// </summary>
    public bool Enabled { get; set; }
}

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
        builder.Services.AddOptions<DemoOptions>().BindConfiguration(DemoOptions.SectionName).ValidateOnStart();
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
        builder.Services.AddClaudeSimulator();
        return true;
    }

    private static int FreeLoopbackPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
