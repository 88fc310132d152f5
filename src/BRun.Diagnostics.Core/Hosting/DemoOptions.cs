namespace BRun.Diagnostics.Core.Hosting;

/// <summary>
/// Options of demo mode (configuration section <c>Demo</c>). Here, with no I/O, because both the simulator (which
/// runs in-process only in demo mode) and the infrastructure (which seeds the demo admin only in demo mode) read it.
/// </summary>
public sealed class DemoOptions
{
    public const string SectionName = "Demo";

    /// <summary>
    /// Run the built-in Claude simulator in this host and send every call there. Only ever on when asked
    /// (<c>./brun.sh run</c> sets it when <c>ANTHROPIC_API_KEY</c> is unset): a production host that lost its key must
    /// stop, not write simulated conversations into training data. Default: false.
    /// </summary>
    public bool Enabled { get; set; }

    /// <summary>
    /// In demo mode, the simulator plays an organisation with real limits, so the dashboard shows pacing and
    /// rate-limit waits as a real Tier 1 key would (the simulator's <c>DemoModeExtensions.OrganizationLimitDefaults</c>);
    /// any <c>Simulator:*</c> setting given explicitly wins. Default: true.
    /// </summary>
    public bool OrganizationLimits { get; set; } = true;
}
