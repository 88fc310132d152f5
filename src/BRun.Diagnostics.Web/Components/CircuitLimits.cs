namespace BRun.Diagnostics.Web.Components;

/// <summary>Limits of the dashboard's circuits (Blazor Server's SignalR hub).</summary>
public static class CircuitLimits
{
    /// <summary>
    /// The circuit hub's largest incoming message (SignalR's default is 32 KB). Two things a user sends are bigger: a
    /// prerender's persisted state in the circuit's start message (PrerenderStateBudget: about 86 KB at most), and the
    /// longest text typed into a field, a template body of 100,000 characters: up to 300 KB of UTF-8, sent twice in its
    /// change event (the value, and the bound field's value Blazor keeps in step). Over the limit the hub closed the
    /// circuit, and the page, still on screen, stopped working.
    /// </summary>
    public const long MaxCircuitMessageBytes = 1024 * 1024;
}
