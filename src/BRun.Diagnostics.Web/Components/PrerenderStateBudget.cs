using System.Text.Json;

namespace BRun.Diagnostics.Web.Components;

/// <summary>
/// Keeps what a prerender persists for its circuit small enough to get there. Persisted component state is written
/// into the page and sent back by the browser in the circuit's start message, so a view too big for that message does
/// not arrive late: the hub closes the connection and the page, which looks loaded, never works. Such a view is not
/// persisted; the circuit reads it again from the database, one round trip slower.
/// </summary>
public sealed partial class PrerenderStateBudget(ILogger<PrerenderStateBudget> logger)
{
    /// <summary>
    /// The largest view persisted, as JSON. On its way to the page the JSON is base64-encoded in Blazor's state
    /// dictionary, then protected and base64-encoded again: about 1.8 times larger, so 48 KB arrives as about 86 KB.
    /// </summary>
    public const int MaxJsonBytes = 48 * 1024;

    /// <summary><paramref name="view"/> when its JSON fits <see cref="MaxJsonBytes"/>; otherwise null, and a log line saying so.</summary>
    public T? Admit<T>(T? view, string page)
        where T : class
    {
        if (view is null)
        {
            return null;
        }

        var bytes = JsonSerializer.SerializeToUtf8Bytes(view, JsonSerializerOptions.Web).Length;
        if (bytes <= MaxJsonBytes)
        {
            return view;
        }

        LogOverBudget(page, bytes, MaxJsonBytes);
        return null;
    }

    [LoggerMessage(7800, LogLevel.Information,
        "The {Page} page's prerendered view is {Bytes} bytes of JSON, over the {Budget}-byte budget: not persisted, the circuit reads it again")]
    private partial void LogOverBudget(string page, int bytes, int budget);
}
