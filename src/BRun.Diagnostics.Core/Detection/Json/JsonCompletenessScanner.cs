using System.Buffers;
using System.Globalization;
using System.Text;

namespace BRun.Diagnostics.Core.Detection.Json;

/// <summary>
/// Tells, in one pass over the characters and without building anything, whether a text is a complete JSON
/// value, a JSON value that stops early (and where), or not JSON. It checks structure only: numbers are read
/// loosely and control characters in strings are not rejected, because a complete document still goes
/// through the real parser afterwards.
/// </summary>
public static class JsonCompletenessScanner
{
    /// <summary>Deeper nesting is reported as invalid (the conversation parser uses the same limit).</summary>
    public const int MaxDepth = 256;

    // Inside a string only these two matter, so the vectorised search jumps over everything else.
    private static readonly SearchValues<char> StringStops = SearchValues.Create("\"\\");

    private enum Expect
    {
        Value,
        FirstValueOrClose,
        FirstKeyOrClose,
        Key,
        Colon,
        CommaOrClose,
        End,
    }

    private struct Frame
    {
        public bool IsArray;
        public int Index;
        public int KeyStart;
        public int KeyLength;
    }

    public static JsonScanResult Scan(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return new Scanner(text).Run();
    }

    private ref struct Scanner
    {
        private readonly ReadOnlySpan<char> _text;
        private Frame[] _frames;
        private int _depth;
        private Expect _expect;

        public Scanner(string text)
        {
            _text = text;
            _frames = new Frame[16];
            _expect = Expect.Value;
        }

        public JsonScanResult Run()
        {
            var i = 0;
            var sawValue = false;
            while (true)
            {
                while (i < _text.Length && IsWhitespace(_text[i]))
                {
                    i++;
                }

                if (i == _text.Length)
                {
                    return EndOfText(sawValue);
                }

                var c = _text[i];
                switch (_expect)
                {
                    case Expect.Value or Expect.FirstValueOrClose:
                        if (_expect == Expect.FirstValueOrClose && c == ']')
                        {
                            Pop();
                            i++;
                            break;
                        }

                        sawValue = true;
                        var valueResult = ReadValue(ref i, c);
                        if (valueResult is not null)
                        {
                            return valueResult;
                        }

                        break;
                    case Expect.FirstKeyOrClose or Expect.Key:
                        if (_expect == Expect.FirstKeyOrClose && c == '}')
                        {
                            Pop();
                            i++;
                            break;
                        }

                        if (c != '"')
                        {
                            return Invalid(i, $"expected a property name in double quotes, found {Show(c)}");
                        }

                        var keyResult = ReadString(ref i, isKey: true);
                        if (keyResult is not null)
                        {
                            return keyResult;
                        }

                        _expect = Expect.Colon;
                        break;
                    case Expect.Colon:
                        if (c != ':')
                        {
                            return Invalid(i, $"expected ':' after the property name, found {Show(c)}");
                        }

                        i++;
                        _expect = Expect.Value;
                        break;
                    case Expect.CommaOrClose:
                        ref var top = ref _frames[_depth - 1];
                        if (c == ',')
                        {
                            i++;
                            if (top.IsArray)
                            {
                                top.Index++;
                                _expect = Expect.Value;
                            }
                            else
                            {
                                _expect = Expect.Key;
                            }
                        }
                        else if (c == (top.IsArray ? ']' : '}'))
                        {
                            Pop();
                            i++;
                        }
                        else
                        {
                            return Invalid(i, $"expected ',' or '{(top.IsArray ? ']' : '}')}', found {Show(c)}");
                        }

                        break;
                    default:
                        return Invalid(i, $"unexpected {Show(c)} after the end of the JSON value");
                }
            }
        }

        private JsonScanResult? ReadValue(ref int i, char c)
        {
            switch (c)
            {
                case '{':
                case '[':
                    if (_depth == MaxDepth)
                    {
                        return Invalid(i, $"nesting deeper than {MaxDepth} levels");
                    }

                    if (_depth == _frames.Length)
                    {
                        Array.Resize(ref _frames, _frames.Length * 2);
                    }

                    _frames[_depth++] = new Frame { IsArray = c == '[', KeyStart = -1 };
                    _expect = c == '[' ? Expect.FirstValueOrClose : Expect.FirstKeyOrClose;
                    i++;
                    return null;
                case '"':
                    var stringResult = ReadString(ref i, isKey: false);
                    if (stringResult is null)
                    {
                        AfterValue();
                    }

                    return stringResult;
                case '-' or (>= '0' and <= '9'):
                    while (i < _text.Length && IsNumberChar(_text[i]))
                    {
                        i++;
                    }

                    if (i == _text.Length && _depth > 0)
                    {
                        return Cut(JsonCutPoint.InNumber);
                    }

                    AfterValue();
                    return null;
                case 't' or 'f' or 'n':
                    var literal = c == 't' ? "true" : c == 'f' ? "false" : "null";
                    foreach (var expected in literal)
                    {
                        if (i == _text.Length)
                        {
                            return Cut(JsonCutPoint.InLiteral);
                        }

                        if (_text[i] != expected)
                        {
                            return Invalid(i, $"expected '{literal}', found {Show(_text[i])}");
                        }

                        i++;
                    }

                    AfterValue();
                    return null;
                default:
                    return Invalid(i, $"expected a value, found {Show(c)}");
            }
        }

        /// <summary>Reads from the opening quote at <paramref name="i"/> to just past the closing quote.</summary>
        private JsonScanResult? ReadString(ref int i, bool isKey)
        {
            var contentStart = i + 1;
            var j = contentStart;
            while (true)
            {
                var stop = _text[j..].IndexOfAny(StringStops);
                if (stop < 0)
                {
                    return Cut(isKey ? JsonCutPoint.InKey : JsonCutPoint.InString, _text.Length - contentStart);
                }

                j += stop;
                if (_text[j] == '"')
                {
                    if (isKey)
                    {
                        ref var frame = ref _frames[_depth - 1];
                        frame.KeyStart = contentStart;
                        frame.KeyLength = j - contentStart;
                    }

                    i = j + 1;
                    return null;
                }

                if (j + 1 == _text.Length)
                {
                    return Cut(JsonCutPoint.AfterBackslash, _text.Length - contentStart);
                }

                var escape = _text[j + 1];
                if (escape == 'u')
                {
                    for (var digit = 0; digit < 4; digit++)
                    {
                        var at = j + 2 + digit;
                        if (at == _text.Length)
                        {
                            return Cut(JsonCutPoint.InUnicodeEscape, _text.Length - contentStart, digit);
                        }

                        if (!char.IsAsciiHexDigit(_text[at]))
                        {
                            return Invalid(at, $"a \\u escape needs 4 hex digits, found {Show(_text[at])}");
                        }
                    }

                    j += 6;
                }
                else if (escape is '"' or '\\' or '/' or 'b' or 'f' or 'n' or 'r' or 't')
                {
                    j += 2;
                }
                else
                {
                    return Invalid(j + 1, $"invalid escape \\{escape} in a string");
                }
            }
        }

        private void AfterValue() => _expect = _depth == 0 ? Expect.End : Expect.CommaOrClose;

        private void Pop()
        {
            _depth--;
            AfterValue();
        }

        private readonly JsonScanResult EndOfText(bool sawValue)
        {
            if (!sawValue)
            {
                return new JsonScanResult(JsonScanStatus.Empty, JsonCutPoint.None, _text.Length, 0, string.Empty);
            }

            if (_expect == Expect.End)
            {
                return new JsonScanResult(JsonScanStatus.Complete, JsonCutPoint.None, _text.Length, 0, string.Empty);
            }

            var point = _expect switch
            {
                Expect.FirstValueOrClose => JsonCutPoint.AfterOpenArray,
                Expect.FirstKeyOrClose => JsonCutPoint.AfterOpenObject,
                Expect.Key => JsonCutPoint.AfterComma,
                Expect.Colon => JsonCutPoint.AfterKey,
                Expect.CommaOrClose => JsonCutPoint.AfterValue,
                _ => _frames[_depth - 1].IsArray ? JsonCutPoint.AfterComma : JsonCutPoint.AfterColon,
            };
            return Cut(point);
        }

        private readonly JsonScanResult Cut(JsonCutPoint point, int openStringLength = 0, int unicodeDigits = 0) =>
            new(JsonScanStatus.Incomplete, point, _text.Length, _depth, BuildPath(point), openStringLength, unicodeDigits);

        private readonly JsonScanResult Invalid(int offset, string problem) =>
            new(JsonScanStatus.Invalid, JsonCutPoint.None, offset, _depth, BuildPath(JsonCutPoint.None), Problem: problem);

        /// <summary>Built once, at the end, from the open containers: e.g. <c>turns[3].content</c>.</summary>
        private readonly string BuildPath(JsonCutPoint point)
        {
            const int MaxKeyShown = 40;
            var builder = new StringBuilder();
            for (var level = 0; level < _depth; level++)
            {
                var frame = _frames[level];
                var isTop = level == _depth - 1;
                if (frame.IsArray)
                {
                    // An array with no element begun yet has no index to show.
                    if (!(isTop && point == JsonCutPoint.AfterOpenArray))
                    {
                        builder.Append(CultureInfo.InvariantCulture, $"[{frame.Index}]");
                    }

                    continue;
                }

                // While a property name is being read or awaited, the remembered key is the previous one.
                var keyIsStale = isTop && (point is JsonCutPoint.InKey || (point == JsonCutPoint.AfterComma && _expect == Expect.Key));
                if (frame.KeyStart < 0 || keyIsStale)
                {
                    continue;
                }

                if (builder.Length > 0)
                {
                    builder.Append('.');
                }

                var key = _text.Slice(frame.KeyStart, Math.Min(frame.KeyLength, MaxKeyShown));
                builder.Append(key);
                if (frame.KeyLength > MaxKeyShown)
                {
                    builder.Append('…');
                }
            }

            return builder.ToString();
        }

        private static bool IsWhitespace(char c) => c is ' ' or '\t' or '\n' or '\r';

        private static bool IsNumberChar(char c) => c is (>= '0' and <= '9') or '-' or '+' or '.' or 'e' or 'E';

        private static string Show(char c) =>
            c < ' ' ? string.Create(CultureInfo.InvariantCulture, $"U+{(int)c:X4}") : $"'{c}'";
    }
}
