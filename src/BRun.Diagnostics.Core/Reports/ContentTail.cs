namespace BRun.Diagnostics.Core.Reports;

/// <summary>
/// The end of a response's content, where a truncated response was cut: the last <see cref="DefaultLength"/>
/// characters, and whether anything before them was left out.
/// </summary>
public sealed record ContentTail(string Text, bool HasEarlierContent, int TotalLength)
{
    public const int DefaultLength = 400;

    public static ContentTail Of(string? content, int length = DefaultLength)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(length, 1);
        content ??= string.Empty;
        if (content.Length <= length)
        {
            return new ContentTail(content, false, content.Length);
        }

        var start = content.Length - length;
        // Do not start in the middle of a surrogate pair.
        if (char.IsLowSurrogate(content[start]))
        {
            start++;
        }

        return new ContentTail(content[start..], true, content.Length);
    }

    /// <summary>The last character, spelled out when it is invisible or the usual suspect (a backslash).</summary>
    public string LastCharacterDescription => Text.Length == 0
        ? "no content"
        : Text[^1] switch
        {
            '\\' => "a backslash (\\)",
            ' ' => "a space",
            '\n' => "a line feed",
            '"' => "a double quote",
            var c => $"'{c}'",
        };
}
