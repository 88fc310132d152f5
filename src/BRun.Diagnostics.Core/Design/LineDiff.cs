namespace BRun.Diagnostics.Core.Design;

/// <summary>How a line of a diff relates the old text to the new one.</summary>
public enum DiffLineKind
{
    Same,
    Removed,
    Added,
}

/// <summary>One line of a diff.</summary>
public sealed record DiffLine(DiffLineKind Kind, string Text)
{
    /// <summary>The line as a unified diff shows it: two spaces, <c>- </c> or <c>+ </c>, then the text.</summary>
    public override string ToString() => Kind switch
    {
        DiffLineKind.Removed => "- " + Text,
        DiffLineKind.Added => "+ " + Text,
        _ => "  " + Text,
    };
}

/// <summary>
/// A line diff between two template versions: the longest common subsequence of lines, with removed lines listed
/// before added ones at each change. Common leading and trailing lines are matched first, so an edit in the middle of
/// a long template costs only the changed region.
/// </summary>
public static class LineDiff
{
    /// <summary>Above this many cells (changed old lines x changed new lines) the table is not built and the whole changed region is shown as replaced.</summary>
    public const int MaxTableCells = 4_000_000;

    public static IReadOnlyList<DiffLine> Compute(string oldText, string newText)
    {
        ArgumentNullException.ThrowIfNull(oldText);
        ArgumentNullException.ThrowIfNull(newText);
        var a = SplitLines(oldText);
        var b = SplitLines(newText);

        var prefix = 0;
        while (prefix < a.Length && prefix < b.Length && a[prefix] == b[prefix])
        {
            prefix++;
        }

        var suffix = 0;
        while (suffix < a.Length - prefix && suffix < b.Length - prefix && a[^(suffix + 1)] == b[^(suffix + 1)])
        {
            suffix++;
        }

        var result = new List<DiffLine>(a.Length + b.Length);
        for (var i = 0; i < prefix; i++)
        {
            result.Add(new DiffLine(DiffLineKind.Same, a[i]));
        }

        Middle(a.AsSpan(prefix, a.Length - prefix - suffix), b.AsSpan(prefix, b.Length - prefix - suffix), result);
        for (var i = a.Length - suffix; i < a.Length; i++)
        {
            result.Add(new DiffLine(DiffLineKind.Same, a[i]));
        }

        return result;
    }

    /// <summary>True when the diff has at least one added or removed line.</summary>
    public static bool HasChanges(IReadOnlyList<DiffLine> diff)
    {
        ArgumentNullException.ThrowIfNull(diff);
        return diff.Any(l => l.Kind != DiffLineKind.Same);
    }

    private static void Middle(ReadOnlySpan<string> a, ReadOnlySpan<string> b, List<DiffLine> result)
    {
        if ((long)a.Length * b.Length > MaxTableCells)
        {
            foreach (var line in a)
            {
                result.Add(new DiffLine(DiffLineKind.Removed, line));
            }

            foreach (var line in b)
            {
                result.Add(new DiffLine(DiffLineKind.Added, line));
            }

            return;
        }

        // lcs[i, j] = length of the longest common subsequence of a[i..] and b[j..].
        var lcs = new int[a.Length + 1, b.Length + 1];
        for (var i = a.Length - 1; i >= 0; i--)
        {
            for (var j = b.Length - 1; j >= 0; j--)
            {
                lcs[i, j] = a[i] == b[j] ? lcs[i + 1, j + 1] + 1 : Math.Max(lcs[i + 1, j], lcs[i, j + 1]);
            }
        }

        int x = 0, y = 0;
        while (x < a.Length && y < b.Length)
        {
            if (a[x] == b[y])
            {
                result.Add(new DiffLine(DiffLineKind.Same, a[x]));
                x++;
                y++;
            }
            else if (lcs[x + 1, y] >= lcs[x, y + 1])
            {
                result.Add(new DiffLine(DiffLineKind.Removed, a[x++]));
            }
            else
            {
                result.Add(new DiffLine(DiffLineKind.Added, b[y++]));
            }
        }

        while (x < a.Length)
        {
            result.Add(new DiffLine(DiffLineKind.Removed, a[x++]));
        }

        while (y < b.Length)
        {
            result.Add(new DiffLine(DiffLineKind.Added, b[y++]));
        }
    }

    private static string[] SplitLines(string text) =>
        text.Length == 0 ? [] : text.ReplaceLineEndings("\n").Split('\n');
}
