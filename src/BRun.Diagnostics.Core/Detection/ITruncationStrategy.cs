namespace BRun.Diagnostics.Core.Detection;

/// <summary>
/// One way a text can look cut. Strategies look only at the end of the text (a bounded tail) so that a
/// multi-megabyte response costs the same as a short one, and they never run regular expressions on it.
/// </summary>
public interface ITruncationStrategy
{
    /// <summary>The snake_case name this strategy reports, e.g. <c>lone_backslash</c>.</summary>
    string Pattern { get; }

    /// <returns>A finding when the ending matches this strategy, otherwise null.</returns>
    TruncationFinding? Inspect(in TruncationInput input);
}
