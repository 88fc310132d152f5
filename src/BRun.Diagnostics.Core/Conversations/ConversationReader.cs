using System.Buffers;
using System.Globalization;

namespace BRun.Diagnostics.Core.Conversations;

/// <summary>The outcome of <see cref="ConversationReader.Read"/>.</summary>
public enum ConversationParseStatus
{
    /// <summary>Valid JSON and a conversation: <c>Conversation</c> is set.</summary>
    Conversation,

    /// <summary>Valid JSON that is not a conversation: <c>Problem</c> says why.</summary>
    NotAConversation,

    /// <summary>Not valid JSON (cut, or broken): <c>SyntaxError</c> and <c>SyntaxOffset</c> say where.</summary>
    InvalidJson,
}

/// <summary>What <see cref="ConversationReader.Read"/> found.</summary>
public readonly record struct ConversationParseResult(
    ConversationParseStatus Status,
    Conversation? Conversation,
    ConversationShapeProblem? Problem,
    string? SyntaxError,
    int SyntaxOffset);

/// <summary>Why a valid JSON document is not a conversation. <see cref="Pattern"/> is snake_case.</summary>
public sealed record ConversationShapeProblem(string Pattern, string Details);

/// <summary>
/// Reads <c>{"conversation_metadata": {...}, "turns": [{"role", "content"}]}</c> straight from the UTF-16 text in
/// one pass. Unknown fields are ignored; metadata is optional (a member of the wrong JSON type reads as null); turns
/// must have a known role and non-blank string content, and at least one must be the assistant's.
/// It does not transcode to UTF-8, build a DOM, or copy anything but the strings the <see cref="Conversation"/>
/// keeps (a JsonDocument-based reader cost ~100 µs for 20 KB, most of the validator's time). Strings are skipped with a vectorised search for the few characters that
/// matter in them. The whole text is checked against the JSON grammar (RFC 8259: strict numbers and literals, no
/// raw control characters in strings, valid escapes, no lone surrogates from <c>\u</c> escapes) before any shape
/// problem is reported, so a broken document is always reported as broken JSON first.
/// Duplicate keys: the last one wins, as <c>JsonElement.TryGetProperty</c> does.
/// </summary>
public static class ConversationReader
{
    public const string NotAConversation = "not_a_conversation";
    public const string InvalidTurn = "invalid_turn";
    public const string NoAssistantTurn = "no_assistant_turn";
    public const string EmptyTurn = "empty_turn";

    /// <summary>Deeper nesting is invalid (the same limit as the completeness scanner).</summary>
    public const int MaxDepth = 256;

    // Inside a string only these matter: its end, an escape, and raw control characters (which JSON forbids).
    private static readonly SearchValues<char> StringStops = SearchValues.Create(
        "\"\\\u0000\u0001\u0002\u0003\u0004\u0005\u0006\u0007\u0008\u0009\u000A\u000B\u000C\u000D\u000E\u000F"
        + "\u0010\u0011\u0012\u0013\u0014\u0015\u0016\u0017\u0018\u0019\u001A\u001B\u001C\u001D\u001E\u001F");

    public static ConversationParseResult Read(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var parser = new Parser(text);
        return parser.Run();
    }

    private enum Kind
    {
        Undefined,
        Object,
        Array,
        String,
        Number,
        True,
        False,
        Null,
    }

    private sealed class SyntaxException(string message, int offset) : Exception(message)
    {
        public int Offset { get; } = offset;
    }

    /// <summary>One turn as seen so far; roles and contents are kept as raw spans until the turn is judged.</summary>
    private struct TurnFields
    {
        public Kind RoleKind;
        public int RoleStart;
        public int RoleLength;
        public bool RoleEscaped;
        public Kind ContentKind;
        public int ContentStart;
        public int ContentLength;
        public bool ContentEscaped;
    }

    private ref struct Parser
    {
        private readonly ReadOnlySpan<char> _text;
        private readonly string _source;
        private int _pos;

        // The last "turns" and "conversation_metadata" seen at the root (last wins).
        private List<ConversationTurn>? _turns;
        private ConversationShapeProblem? _turnsProblem;
        private Kind _turnsKind;
        private ConversationMetadata? _metadata;

        public Parser(string text)
        {
            _source = text;
            _text = text;
            _pos = 0;
            _turns = null;
            _turnsProblem = null;
            _turnsKind = Kind.Undefined;
            _metadata = null;
        }

        public ConversationParseResult Run()
        {
            Kind rootKind;
            try
            {
                SkipWhitespace();
                rootKind = Peek() == '{' ? ReadRootObject() : SkipValue(0);
                SkipWhitespace();
                if (_pos < _text.Length)
                {
                    throw Error($"unexpected '{_text[_pos]}' after the end of the JSON value");
                }
            }
            catch (SyntaxException ex)
            {
                return new(ConversationParseStatus.InvalidJson, null, null, ex.Message, ex.Offset);
            }

            if (rootKind != Kind.Object)
            {
                return Shape(new(ConversationReader.NotAConversation, $"The content is a JSON {Name(rootKind)}, not an object with \"turns\"."));
            }

            if (_turnsKind != Kind.Array)
            {
                return Shape(new(ConversationReader.NotAConversation, _turnsKind == Kind.Undefined
                    ? "The content JSON has no \"turns\" array."
                    : $"\"turns\" is a JSON {Name(_turnsKind)}, expected an array."));
            }

            if (_turnsProblem is not null)
            {
                return Shape(_turnsProblem);
            }

            if (!_turns!.Exists(t => t.Role == ConversationRole.Assistant))
            {
                return Shape(new(ConversationReader.NoAssistantTurn, string.Create(
                    CultureInfo.InvariantCulture,
                    $"The conversation has {_turns.Count} turns and none of them is an assistant turn.")));
            }

            return new(ConversationParseStatus.Conversation, new Conversation(_metadata ?? ConversationMetadata.None, _turns), null, null, 0);
        }

        private static ConversationParseResult Shape(ConversationShapeProblem problem) =>
            new(ConversationParseStatus.NotAConversation, null, problem, null, 0);

        private Kind ReadRootObject()
        {
            _pos++;
            SkipWhitespace();
            if (Peek() == '}')
            {
                _pos++;
                return Kind.Object;
            }

            while (true)
            {
                var (keyStart, keyLength, keyEscaped) = ReadKey();
                if (KeyIs(keyStart, keyLength, keyEscaped, "turns"))
                {
                    ReadTurnsValue();
                }
                else if (KeyIs(keyStart, keyLength, keyEscaped, "conversation_metadata"))
                {
                    ReadMetadataValue();
                }
                else
                {
                    SkipValue(1);
                }

                if (!AfterMember('}'))
                {
                    return Kind.Object;
                }
            }
        }

        private void ReadTurnsValue()
        {
            SkipWhitespace();
            _turns = null;
            _turnsProblem = null;
            if (Peek() != '[')
            {
                _turnsKind = SkipValue(1);
                return;
            }

            _turnsKind = Kind.Array;
            _turns = [];
            _pos++;
            SkipWhitespace();
            if (Peek() == ']')
            {
                _pos++;
                return;
            }

            for (var index = 0; ; index++)
            {
                SkipWhitespace();
                if (Peek() == '{')
                {
                    var fields = ReadTurnObject();
                    if (_turnsProblem is null)
                    {
                        JudgeTurn(fields, index);
                    }
                }
                else
                {
                    var kind = SkipValue(2);
                    _turnsProblem ??= new(ConversationReader.InvalidTurn, $"turns[{index}] is a JSON {Name(kind)}, expected an object.");
                }

                if (!AfterMember(']'))
                {
                    return;
                }
            }
        }

        private TurnFields ReadTurnObject()
        {
            var fields = default(TurnFields);
            _pos++;
            SkipWhitespace();
            if (Peek() == '}')
            {
                _pos++;
                return fields;
            }

            while (true)
            {
                var (keyStart, keyLength, keyEscaped) = ReadKey();
                var isRole = KeyIs(keyStart, keyLength, keyEscaped, "role");
                var isContent = !isRole && KeyIs(keyStart, keyLength, keyEscaped, "content");
                SkipWhitespace();
                if ((isRole || isContent) && Peek() == '"')
                {
                    var (start, length, escaped) = ReadString();
                    if (isRole)
                    {
                        (fields.RoleKind, fields.RoleStart, fields.RoleLength, fields.RoleEscaped) = (Kind.String, start, length, escaped);
                    }
                    else
                    {
                        (fields.ContentKind, fields.ContentStart, fields.ContentLength, fields.ContentEscaped) = (Kind.String, start, length, escaped);
                    }
                }
                else
                {
                    var kind = SkipValue(3);
                    if (isRole)
                    {
                        fields.RoleKind = kind;
                    }
                    else if (isContent)
                    {
                        fields.ContentKind = kind;
                    }
                }

                if (!AfterMember('}'))
                {
                    return fields;
                }
            }
        }

        private void JudgeTurn(in TurnFields fields, int index)
        {
            if (fields.RoleKind != Kind.String)
            {
                _turnsProblem = new(ConversationReader.InvalidTurn, $"turns[{index}].role is missing or not a string.");
                return;
            }

            var roleText = Decode(fields.RoleStart, fields.RoleLength, fields.RoleEscaped);
            ConversationRole role;
            if (roleText == "user")
            {
                role = ConversationRole.User;
            }
            else if (roleText == "assistant")
            {
                role = ConversationRole.Assistant;
            }
            else
            {
                _turnsProblem = new(ConversationReader.InvalidTurn, $"turns[{index}].role is \"{roleText}\", expected \"user\" or \"assistant\".");
                return;
            }

            if (fields.ContentKind != Kind.String)
            {
                _turnsProblem = new(ConversationReader.InvalidTurn, fields.ContentKind == Kind.Undefined
                    ? $"turns[{index}] has no \"content\"."
                    : $"turns[{index}].content is a JSON {Name(fields.ContentKind)}, expected a string.");
                return;
            }

            var content = Decode(fields.ContentStart, fields.ContentLength, fields.ContentEscaped);
            if (string.IsNullOrWhiteSpace(content))
            {
                // A blank turn has no ending for the truncation strategies to judge, yet it is useless as training data.
                _turnsProblem = new(ConversationReader.EmptyTurn, $"turns[{index}] ({roleText}) has empty content.");
                return;
            }

            _turns!.Add(new ConversationTurn(role, content));
        }

        private void ReadMetadataValue()
        {
            SkipWhitespace();
            if (Peek() != '{')
            {
                SkipValue(1);
                _metadata = ConversationMetadata.None;
                return;
            }

            string? persona = null, arc = null, topic = null;
            int? turnCount = null;
            _pos++;
            SkipWhitespace();
            if (Peek() == '}')
            {
                _pos++;
                _metadata = ConversationMetadata.None;
                return;
            }

            while (true)
            {
                var (keyStart, keyLength, keyEscaped) = ReadKey();
                var key = keyEscaped || keyLength <= 16 ? Decode(keyStart, keyLength, keyEscaped) : null;
                SkipWhitespace();
                var valueStart = _pos;
                string? stringValue = null;
                Kind kind;
                if (Peek() == '"')
                {
                    var (start, length, escaped) = ReadString();
                    kind = Kind.String;
                    if (key is "persona" or "emotional_arc" or "training_topic")
                    {
                        stringValue = Decode(start, length, escaped);
                    }
                }
                else
                {
                    kind = SkipValue(2);
                }

                switch (key)
                {
                    case "persona": persona = stringValue; break;
                    case "emotional_arc": arc = stringValue; break;
                    case "training_topic": topic = stringValue; break;
                    case "turn_count":
                        turnCount = kind == Kind.Number
                            && int.TryParse(_text[valueStart.._pos], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var number)
                                ? number
                                : null;
                        break;
                }

                if (!AfterMember('}'))
                {
                    _metadata = new ConversationMetadata(persona, arc, topic, turnCount);
                    return;
                }
            }
        }

        /// <summary>After a member or element: true when a comma follows (another one comes), false when the container closes.</summary>
        private bool AfterMember(char close)
        {
            SkipWhitespace();
            var c = Peek();
            _pos++;
            if (c == ',')
            {
                return true;
            }

            if (c == close)
            {
                return false;
            }

            _pos--;
            throw Error($"expected ',' or '{close}', found {Show(c)}");
        }

        private (int Start, int Length, bool Escaped) ReadKey()
        {
            SkipWhitespace();
            if (Peek() != '"')
            {
                throw Error($"expected a property name in double quotes, found {Show(Peek())}");
            }

            var key = ReadString();
            SkipWhitespace();
            if (Peek() != ':')
            {
                throw Error($"expected ':' after the property name, found {Show(Peek())}");
            }

            _pos++;
            return key;
        }

        private readonly bool KeyIs(int start, int length, bool escaped, string name) =>
            escaped ? Decode(start, length, escaped) == name : _text.Slice(start, length).SequenceEqual(name);

        private Kind SkipValue(int depth)
        {
            if (depth > MaxDepth)
            {
                throw Error($"nesting deeper than {MaxDepth} levels");
            }

            SkipWhitespace();
            var c = Peek();
            switch (c)
            {
                case '{':
                    _pos++;
                    SkipWhitespace();
                    if (Peek() == '}')
                    {
                        _pos++;
                        return Kind.Object;
                    }

                    do
                    {
                        ReadKey();
                        SkipValue(depth + 1);
                    }
                    while (AfterMember('}'));
                    return Kind.Object;
                case '[':
                    _pos++;
                    SkipWhitespace();
                    if (Peek() == ']')
                    {
                        _pos++;
                        return Kind.Array;
                    }

                    do
                    {
                        SkipValue(depth + 1);
                    }
                    while (AfterMember(']'));
                    return Kind.Array;
                case '"':
                    ReadString();
                    return Kind.String;
                case 't':
                    ReadLiteral("true");
                    return Kind.True;
                case 'f':
                    ReadLiteral("false");
                    return Kind.False;
                case 'n':
                    ReadLiteral("null");
                    return Kind.Null;
                case '-' or (>= '0' and <= '9'):
                    ReadNumber();
                    return Kind.Number;
                default:
                    throw Error($"expected a value, found {Show(c)}");
            }
        }

        private void ReadLiteral(string literal)
        {
            if (!_text[_pos..].StartsWith(literal, StringComparison.Ordinal))
            {
                throw Error($"expected '{literal}'");
            }

            _pos += literal.Length;
        }

        /// <summary>RFC 8259 numbers: <c>-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?</c>.</summary>
        private void ReadNumber()
        {
            var start = _pos;
            if (Peek() == '-')
            {
                _pos++;
            }

            if (Peek() == '0')
            {
                _pos++;
            }
            else if (!Digits())
            {
                throw Error("a number needs digits", start);
            }

            if (Peek() == '.')
            {
                _pos++;
                if (!Digits())
                {
                    throw Error("a number needs digits after its decimal point", start);
                }
            }

            if (Peek() is 'e' or 'E')
            {
                _pos++;
                if (Peek() is '+' or '-')
                {
                    _pos++;
                }

                if (!Digits())
                {
                    throw Error("a number needs digits in its exponent", start);
                }
            }
        }

        private bool Digits()
        {
            var start = _pos;
            while (_pos < _text.Length && char.IsAsciiDigit(_text[_pos]))
            {
                _pos++;
            }

            return _pos > start;
        }

        /// <summary>From the opening quote at the position to just past the closing quote; returns the raw content span.</summary>
        private (int Start, int Length, bool Escaped) ReadString()
        {
            var start = _pos + 1;
            var j = start;
            var escaped = false;
            while (true)
            {
                var stop = _text[j..].IndexOfAny(StringStops);
                if (stop < 0)
                {
                    _pos = _text.Length;
                    throw Error("the text ends inside a string");
                }

                j += stop;
                var c = _text[j];
                if (c == '"')
                {
                    _pos = j + 1;
                    return (start, j - start, escaped);
                }

                if (c != '\\')
                {
                    throw Error($"a raw control character {Show(c)} inside a string (it must be escaped)", j);
                }

                escaped = true;
                if (j + 1 == _text.Length)
                {
                    throw Error("the text ends inside an escape sequence", j);
                }

                var escape = _text[j + 1];
                if (escape == 'u')
                {
                    var unit = HexUnit(j);
                    j += 6;
                    if (char.IsHighSurrogate(unit))
                    {
                        if (j + 1 >= _text.Length || _text[j] != '\\' || _text[j + 1] != 'u' || !char.IsLowSurrogate(HexUnit(j)))
                        {
                            throw Error("a \\u escape leaves a lone high surrogate", j - 6);
                        }

                        j += 6;
                    }
                    else if (char.IsLowSurrogate(unit))
                    {
                        throw Error("a \\u escape leaves a lone low surrogate", j - 6);
                    }
                }
                else if (escape is '"' or '\\' or '/' or 'b' or 'f' or 'n' or 'r' or 't')
                {
                    j += 2;
                }
                else
                {
                    throw Error($"invalid escape \\{escape} in a string", j + 1);
                }
            }
        }

        private readonly char HexUnit(int backslash)
        {
            if (backslash + 6 > _text.Length
                || !ushort.TryParse(_text.Slice(backslash + 2, 4), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var value))
            {
                throw new SyntaxException("a \\u escape needs 4 hex digits", backslash);
            }

            return (char)value;
        }

        /// <summary>The string's value: a plain copy when it has no escapes, else its escapes resolved.</summary>
        private readonly string Decode(int start, int length, bool escaped)
        {
            var raw = _text.Slice(start, length);
            if (!escaped)
            {
                return _source.Substring(start, length);
            }

            // Decoded text is never longer than its escaped form.
            var rented = ArrayPool<char>.Shared.Rent(length);
            try
            {
                var written = 0;
                var i = 0;
                while (i < raw.Length)
                {
                    var next = raw[i..].IndexOf('\\');
                    if (next < 0)
                    {
                        raw[i..].CopyTo(rented.AsSpan(written));
                        written += raw.Length - i;
                        break;
                    }

                    raw.Slice(i, next).CopyTo(rented.AsSpan(written));
                    written += next;
                    i += next;
                    var escape = raw[i + 1];
                    if (escape == 'u')
                    {
                        rented[written++] = (char)ushort.Parse(raw.Slice(i + 2, 4), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture);
                        i += 6;
                        continue;
                    }

                    rented[written++] = escape switch
                    {
                        'b' => '\b',
                        'f' => '\f',
                        'n' => '\n',
                        'r' => '\r',
                        't' => '\t',
                        _ => escape,
                    };
                    i += 2;
                }

                return new string(rented, 0, written);
            }
            finally
            {
                ArrayPool<char>.Shared.Return(rented);
            }
        }

        private void SkipWhitespace()
        {
            while (_pos < _text.Length && _text[_pos] is ' ' or '\t' or '\n' or '\r')
            {
                _pos++;
            }
        }

        private readonly char Peek()
        {
            if (_pos >= _text.Length)
            {
                throw new SyntaxException("the text ends before the JSON value is complete", _text.Length);
            }

            return _text[_pos];
        }

        private readonly SyntaxException Error(string message, int? offset = null) => new(message, offset ?? _pos);

        private static string Name(Kind kind) => kind.ToString().ToLowerInvariant();

        private static string Show(char c) =>
            c < ' ' ? string.Create(CultureInfo.InvariantCulture, $"U+{(int)c:X4}") : $"'{c}'";
    }
}
