namespace BRun.Diagnostics.ServiceDefaults;

/// <summary>
/// A small HTTP listener for <c>/healthz/live</c> and <c>/healthz/ready</c> in processes that serve no web UI
/// (<c>brun worker</c>), so a process manager can probe and restart them (configuration section <c>Health</c>).
/// </summary>
public sealed class HealthProbeOptions
{
    public const string SectionName = "Health";

    /// <summary>
    /// Where to listen, e.g. <c>http://127.0.0.1:8081</c> (Kestrel URL syntax, several separated by ';').
    /// Default: none, no listener. The web host serves the same paths on its own port and ignores this.
    /// </summary>
    public string? ProbeUrls { get; set; }
}
