using System.Globalization;

namespace BRun.Diagnostics.Core.Detection.Json;

/// <summary>What a JSON completeness scan found.</summary>
public enum JsonScanStatus
{
    /// <summary>Nothing but whitespace.</summary>
    Empty,

    /// <summary>One complete JSON value, nothing but whitespace after it.</summary>
    Complete,

    /// <summary>Everything read was well-formed, but the text stops before the value is complete.</summary>
    Incomplete,

    /// <summary>A character that cannot appear where it does.</summary>
    Invalid,
}

/// <summary>Where an incomplete document stops.</summary>
public enum JsonCutPoint
{
    None,
    InString,
    InKey,

    /// <summary>Inside a string, right after a backslash that starts an escape.</summary>
    AfterBackslash,

    /// <summary>Inside a string, within the four hex digits of a <c>\u</c> escape.</summary>
    InUnicodeEscape,
    InNumber,

    /// <summary>Inside <c>true</c>, <c>false</c> or <c>null</c>.</summary>
    InLiteral,
    AfterOpenObject,
    AfterOpenArray,

    /// <summary>After a property name, before its colon.</summary>
    AfterKey,

    /// <summary>After a colon, before the value.</summary>
    AfterColon,

    /// <summary>After a comma, before the next element or property.</summary>
    AfterComma,

    /// <summary>After a complete element or property value, before a comma or the closing bracket.</summary>
    AfterValue,
}

/// <summary>The result of <see cref="JsonCompletenessScanner.Scan"/>.</summary>
/// <param name="Status">What the text is.</param>
/// <param name="CutPoint">For <see cref="JsonScanStatus.Incomplete"/>, where it stops; otherwise None.</param>
/// <param name="Offset">Char offset of the cut (the text length) or of the invalid character.</param>
/// <param name="Depth">Containers open at <see cref="Offset"/>.</param>
/// <param name="Path">Where in the document, e.g. <c>turns[3].content</c>; empty at the top level.</param>
/// <param name="OpenStringLength">Characters read of the string that is still open (cut inside a string).</param>
/// <param name="UnicodeDigitsSeen">Hex digits read of a <c>\u</c> escape that is still open.</param>
/// <param name="Problem">For <see cref="JsonScanStatus.Invalid"/>, what was wrong.</param>
public sealed record JsonScanResult(
    JsonScanStatus Status,
    JsonCutPoint CutPoint,
    int Offset,
    int Depth,
    string Path,
    int OpenStringLength = 0,
    int UnicodeDigitsSeen = 0,
    string? Problem = null)
{
    /// <summary>A sentence fragment saying where the document stops or breaks, for finding details.</summary>
    public string Describe()
    {
        var at = Path.Length == 0 ? "the top level" : Path;
        var where = Status switch
        {
            JsonScanStatus.Empty => "nothing but whitespace",
            JsonScanStatus.Complete => "complete",
            JsonScanStatus.Invalid => $"broken: {Problem}",
            _ => CutPoint switch
            {
                JsonCutPoint.InString => $"inside the string at {at}, {OpenStringLength} chars into it",
                JsonCutPoint.InKey => $"inside a property name in {at}, {OpenStringLength} chars into it",
                JsonCutPoint.AfterBackslash => $"inside the string at {at}, right after a backslash (an escape sequence cut in half)",
                JsonCutPoint.InUnicodeEscape => $"inside a \\u escape ({UnicodeDigitsSeen} of 4 hex digits) in the string at {at}",
                JsonCutPoint.InNumber => $"inside the number at {at}",
                JsonCutPoint.InLiteral => $"inside a true/false/null literal at {at}",
                JsonCutPoint.AfterOpenObject => $"right after the '{{' that opens {at}",
                JsonCutPoint.AfterOpenArray => $"right after the '[' that opens {at}",
                JsonCutPoint.AfterKey => $"after the property name {at}, before its ':'",
                JsonCutPoint.AfterColon => $"after \"{at}:\", before its value",
                JsonCutPoint.AfterComma => $"after a ',' in {at}, before the next item",
                JsonCutPoint.AfterValue => $"after the value at {at}, before a ',' or the closing bracket",
                _ => "at an unknown point",
            },
        };

        return string.Create(
            CultureInfo.InvariantCulture,
            $"{where} (char offset {Offset}, {Depth} unclosed {(Depth == 1 ? "container" : "containers")})");
    }
}
