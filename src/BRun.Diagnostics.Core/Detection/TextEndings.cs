using System.Globalization;
using System.Text;

namespace BRun.Diagnostics.Core.Detection;

/// <summary>Small, bounded look-backs at the end of a text, shared by the strategies.</summary>
public static class TextEndings
{
    /// <summary>How many characters the previews in finding details show.</summary>
    public const int PreviewLength = 40;

    // Marks that follow an emoji or letter without changing what the ending is: variation selectors,
    // zero-width joiners, combining accents. A few are skipped; more than that is not a real ending.
    private const int MaxTrailingMarks = 8;

    /// <summary>Number of consecutive backslashes that end just before <paramref name="end"/>.</summary>
    public static int BackslashRunBefore(ReadOnlySpan<char> text, int end)
    {
        var count = 0;
        for (var i = end - 1; i >= 0 && text[i] == '\\'; i--)
        {
            count++;
        }

        return count;
    }

    /// <summary>The last character that says how the text ends, skipping joiners, variation selectors and combining marks.</summary>
    public static Rune LastMeaningfulRune(ReadOnlySpan<char> trimmed)
    {
        var end = trimmed.Length;
        for (var skipped = 0; end > 0; skipped++)
        {
            Rune.DecodeLastFromUtf16(trimmed[..end], out var rune, out var consumed);
            var category = Rune.GetUnicodeCategory(rune);
            var isMark = category is UnicodeCategory.NonSpacingMark or UnicodeCategory.EnclosingMark or UnicodeCategory.Format
                || rune.Value is 0xFE0E or 0xFE0F;
            if (!isMark || skipped >= MaxTrailingMarks)
            {
                return rune;
            }

            end -= consumed;
        }

        return Rune.ReplacementChar;
    }

    /// <summary>
    /// True when the text ends the way finished prose ends: terminal punctuation, a closing quote or bracket,
    /// an emoji or other symbol, or a closing Markdown marker.
    /// </summary>
    public static bool IsProperEnding(ReadOnlySpan<char> trimmed)
    {
        if (trimmed.IsEmpty)
        {
            return false;
        }

        var rune = LastMeaningfulRune(trimmed);
        if (rune.IsBmp && ".!?…'\")]}*`~。！？".Contains((char)rune.Value, StringComparison.Ordinal))
        {
            return true;
        }

        // Pe/Pf cover ’ ” » and their kin; So/Sk cover emoji (🙂, ✅) and skin-tone modifiers.
        return Rune.GetUnicodeCategory(rune) is UnicodeCategory.ClosePunctuation
            or UnicodeCategory.FinalQuotePunctuation
            or UnicodeCategory.OtherSymbol
            or UnicodeCategory.ModifierSymbol;
    }

    /// <summary>The last <paramref name="length"/> characters (trailing whitespace included), escaped and quoted.</summary>
    public static string Tail(string text, int length = PreviewLength)
    {
        ArgumentNullException.ThrowIfNull(text);
        var start = Math.Max(0, text.Length - length);
        if (start > 0 && char.IsLowSurrogate(text[start]))
        {
            start++;
        }

        var builder = new StringBuilder(length + 8);
        builder.Append(start > 0 ? "\"…" : "\"");
        foreach (var c in text.AsSpan(start))
        {
            switch (c)
            {
                case '\\': builder.Append(@"\\"); break;
                case '"': builder.Append("\\\""); break;
                case '\n': builder.Append(@"\n"); break;
                case '\r': builder.Append(@"\r"); break;
                case '\t': builder.Append(@"\t"); break;
                case < ' ': builder.Append(CultureInfo.InvariantCulture, $"\\u{(int)c:x4}"); break;
                default: builder.Append(c); break;
            }
        }

        return builder.Append('"').ToString();
    }

    /// <summary>Standard finding details: the description, then the escaped ending.</summary>
    internal static string Describe(string description, in TruncationInput input) =>
        $"{description}; it ends with {Tail(input.Text)}.";
}
