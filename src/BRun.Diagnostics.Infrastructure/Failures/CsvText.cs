namespace BRun.Diagnostics.Infrastructure.Failures;

/// <summary>CSV cells for files people open in a spreadsheet: RFC 4180 quoting and formula defusing.</summary>
public static class CsvText
{
    /// <summary>Quotes when needed; a cell a spreadsheet would evaluate (= + - @, tab, CR) gets a leading apostrophe.</summary>
    public static string Cell(string? value)
    {
        if (string.IsNullOrEmpty(value))
        {
            return string.Empty;
        }

        if (value[0] is '=' or '+' or '-' or '@' or '\t' or '\r')
        {
            value = "'" + value;
        }

        return value.AsSpan().IndexOfAny(",\"\r\n") >= 0 ? "\"" + value.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"" : value;
    }

    /// <summary>One line of cells, CRLF-terminated.</summary>
    public static string Line(IEnumerable<string?> cells) => string.Join(',', cells.Select(Cell)) + "\r\n";
}
