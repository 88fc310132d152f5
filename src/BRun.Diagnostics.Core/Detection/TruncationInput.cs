using BRun.Diagnostics.Core.Detection.Json;

namespace BRun.Diagnostics.Core.Detection;

/// <summary>
/// What a <see cref="ITruncationStrategy"/> looks at: a text and, when the text is a JSON document that stops
/// before it is complete, the scanner's account of where it stopped. Prose (a conversation turn) has no scan.
/// </summary>
public readonly record struct TruncationInput
{
    public TruncationInput(string text, JsonScanResult? json = null)
    {
        ArgumentNullException.ThrowIfNull(text);
        Text = text;
        Json = json;
        TrimmedLength = text.AsSpan().TrimEnd().Length;
    }

    public string Text { get; }

    /// <summary>The scan of an incomplete JSON document; null when the text is prose.</summary>
    public JsonScanResult? Json { get; }

    /// <summary>Length of <see cref="Text"/> without its trailing whitespace.</summary>
    public int TrimmedLength { get; }

    public ReadOnlySpan<char> Trimmed => Text.AsSpan(0, TrimmedLength);

    public bool IsBlank => TrimmedLength == 0;
}
