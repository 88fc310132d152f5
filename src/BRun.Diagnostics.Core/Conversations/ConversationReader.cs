using System.Buffers;
using System.Globalization;
using System.Numerics;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

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

    /// <summary>One turn as seen so far; roles and contents are kept as decoded spans until the turn is judged.</summary>
    private struct TurnFields
    {
        public Kind RoleKind;
        public DecodedString Role;
        public Kind ContentKind;
        public DecodedString Content;
    }

    /// <summary>Where a string read with decoding stands, escapes resolved, in the parser's scratch buffer.</summary>
    private readonly record struct DecodedString(int Start, int Length);

    /// <summary>The metadata members the reader keeps.</summary>
    private enum MetadataField
    {
        Other,
        Persona,
        EmotionalArc,
        TrainingTopic,
        TurnCount,
    }

    private ref struct Parser
    {
        private readonly ReadOnlySpan<char> _text;
        private int _pos;

        // Strings that are kept or compared are decoded here in the same pass that checks them, so a turn's content
        // is read once rather than scanned and then unescaped. Rented for the call; reset per member or turn.
        private char[] _scratch;
        private int _scratchUsed;

        // The last "turns" and "conversation_metadata" seen at the root (last wins).
        private List<ConversationTurn>? _turns;
        private ConversationShapeProblem? _turnsProblem;
        private Kind _turnsKind;
        private ConversationMetadata? _metadata;

        public Parser(string text)
        {
            _text = text;
            _pos = 0;
            _scratch = [];
            _scratchUsed = 0;
            _turns = null;
            _turnsProblem = null;
            _turnsKind = Kind.Undefined;
            _metadata = null;
        }

        public ConversationParseResult Run()
        {
            Kind rootKind;
            // What one turn decodes to is never longer than the text, so up to this size the buffer never grows.
            _scratch = ArrayPool<char>.Shared.Rent(Math.Clamp(_text.Length, 256, 1 << 16));
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
            finally
            {
                ArrayPool<char>.Shared.Return(_scratch);
                _scratch = [];
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
                _scratchUsed = 0;
                var key = ReadKey(decode: true);
                if (KeyIs(key, "turns"))
                {
                    ReadTurnsValue();
                }
                else if (KeyIs(key, "conversation_metadata"))
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
            _scratchUsed = 0;
            _pos++;
            SkipWhitespace();
            if (Peek() == '}')
            {
                _pos++;
                return fields;
            }

            while (true)
            {
                var key = ReadKey(decode: true);
                var isRole = KeyIs(key, "role");
                var isContent = !isRole && KeyIs(key, "content");
                SkipWhitespace();
                if ((isRole || isContent) && Peek() == '"')
                {
                    var value = ReadString(decode: true);
                    if (isRole)
                    {
                        (fields.RoleKind, fields.Role) = (Kind.String, value);
                    }
                    else
                    {
                        (fields.ContentKind, fields.Content) = (Kind.String, value);
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

            var roleText = Decoded(fields.Role);
            ConversationRole role;
            if (roleText is "user")
            {
                role = ConversationRole.User;
            }
            else if (roleText is "assistant")
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

            var content = new string(Decoded(fields.Content));
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
                _scratchUsed = 0;

                // Decided before the value is read: reading it may move the scratch buffer the key lies in.
                var field = Decoded(ReadKey(decode: true)) switch
                {
                    "persona" => MetadataField.Persona,
                    "emotional_arc" => MetadataField.EmotionalArc,
                    "training_topic" => MetadataField.TrainingTopic,
                    "turn_count" => MetadataField.TurnCount,
                    _ => MetadataField.Other,
                };
                SkipWhitespace();
                var valueStart = _pos;
                string? stringValue = null;
                Kind kind;
                if (Peek() == '"')
                {
                    kind = Kind.String;
                    if (field is MetadataField.Persona or MetadataField.EmotionalArc or MetadataField.TrainingTopic)
                    {
                        stringValue = new string(Decoded(ReadString(decode: true)));
                    }
                    else
                    {
                        ReadString(decode: false);
                    }
                }
                else
                {
                    kind = SkipValue(2);
                }

                switch (field)
                {
                    case MetadataField.Persona: persona = stringValue; break;
                    case MetadataField.EmotionalArc: arc = stringValue; break;
                    case MetadataField.TrainingTopic: topic = stringValue; break;
                    case MetadataField.TurnCount:
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

        private DecodedString ReadKey(bool decode)
        {
            SkipWhitespace();
            if (Peek() != '"')
            {
                throw Error($"expected a property name in double quotes, found {Show(Peek())}");
            }

            var key = ReadString(decode);
            SkipWhitespace();
            if (Peek() != ':')
            {
                throw Error($"expected ':' after the property name, found {Show(Peek())}");
            }

            _pos++;
            return key;
        }

        private readonly bool KeyIs(DecodedString key, string name) => Decoded(key).SequenceEqual(name);

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
                        ReadKey(decode: false);
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
                    ReadString(decode: false);
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

        /// <summary>
        /// From the opening quote at the position to just past the closing quote. With <paramref name="decode"/>, the
        /// value is written to the scratch buffer as it is checked (plain stretches copied a block at a time, escapes
        /// resolved) and its place there is returned; without, nothing is copied and the result is empty.
        /// </summary>
        private DecodedString ReadString(bool decode)
        {
            var j = _pos + 1;
            var written = _scratchUsed;
            while (true)
            {
                var stop = decode ? CopyToStop(j, ref written) : IndexOfStringStop(_text[j..]);
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
                    if (!decode)
                    {
                        return default;
                    }

                    var decoded = new DecodedString(_scratchUsed, written - _scratchUsed);
                    _scratchUsed = written;
                    return decoded;
                }

                if (c != '\\')
                {
                    throw Error($"a raw control character {Show(c)} inside a string (it must be escaped)", j);
                }

                if (j + 1 == _text.Length)
                {
                    throw Error("the text ends inside an escape sequence", j);
                }

                var escape = _text[j + 1];
                char unit;
                if (escape == 'u')
                {
                    unit = HexUnit(j);
                    j += 6;
                    if (char.IsHighSurrogate(unit))
                    {
                        if (j + 1 >= _text.Length || _text[j] != '\\' || _text[j + 1] != 'u' || !char.IsLowSurrogate(HexUnit(j)))
                        {
                            throw Error("a \\u escape leaves a lone high surrogate", j - 6);
                        }

                        if (decode)
                        {
                            Append(ref written, unit);
                        }

                        unit = HexUnit(j);
                        j += 6;
                    }
                    else if (char.IsLowSurrogate(unit))
                    {
                        throw Error("a \\u escape leaves a lone low surrogate", j - 6);
                    }
                }
                else
                {
                    unit = escape switch
                    {
                        '"' or '\\' or '/' => escape,
                        'b' => '\b',
                        'f' => '\f',
                        'n' => '\n',
                        'r' => '\r',
                        't' => '\t',
                        _ => throw Error($"invalid escape \\{escape} in a string", j + 1),
                    };
                    j += 2;
                }

                if (decode)
                {
                    Append(ref written, unit);
                }
            }
        }

        private void Append(ref int written, char c)
        {
            if (written == _scratch.Length)
            {
                Grow(written + 1);
            }

            _scratch[written++] = c;
        }

        /// <summary>
        /// Like <see cref="IndexOfStringStop"/> from <paramref name="from"/>, copying what it passes to the scratch
        /// buffer at <paramref name="written"/>: each 16-character block is loaded once, stored whole (the part past a
        /// stop is overwritten later) and searched, so decoding costs no second pass over the string.
        /// </summary>
        private int CopyToStop(int from, ref int written)
        {
            var i = from;
            if (Vector256.IsHardwareAccelerated)
            {
                var units = MemoryMarshal.Cast<char, ushort>(_text);
                ref var first = ref MemoryMarshal.GetReference(units);
                var scratch = MemoryMarshal.Cast<char, ushort>(_scratch.AsSpan());
                for (; i <= units.Length - Vector256<ushort>.Count; i += Vector256<ushort>.Count)
                {
                    if (written > scratch.Length - Vector256<ushort>.Count)
                    {
                        Grow(written + Vector256<ushort>.Count);
                        scratch = MemoryMarshal.Cast<char, ushort>(_scratch.AsSpan());
                    }

                    var block = Vector256.LoadUnsafe(ref first, (nuint)i);
                    block.StoreUnsafe(ref MemoryMarshal.GetReference(scratch), (nuint)written);

                    // Tested as a bit mask: compared as a vector, the JIT turns the mask registers into a vector and back.
                    var stops = (Vector256.Equals(block, Vector256.Create((ushort)'"'))
                        | Vector256.Equals(block, Vector256.Create((ushort)'\\'))
                        | Vector256.LessThan(block, Vector256.Create((ushort)' '))).ExtractMostSignificantBits();
                    if (stops != 0)
                    {
                        var run = BitOperations.TrailingZeroCount(stops);
                        written += run;
                        return i + run - from;
                    }

                    written += Vector256<ushort>.Count;
                }
            }

            var stop = IndexOfStringStop(_text[i..]);
            var length = stop < 0 ? _text.Length - i : stop;
            if (written + length > _scratch.Length)
            {
                Grow(written + length);
            }

            _text.Slice(i, length).CopyTo(_scratch.AsSpan(written));
            written += length;
            return stop < 0 ? -1 : i + stop - from;
        }

        /// <summary>A larger scratch buffer that keeps what was decoded so far.</summary>
        private void Grow(int needed)
        {
            var larger = ArrayPool<char>.Shared.Rent(Math.Max(needed, _scratch.Length * 2));
            _scratch.CopyTo(larger, 0);
            ArrayPool<char>.Shared.Return(_scratch);
            _scratch = larger;
        }

        private readonly ReadOnlySpan<char> Decoded(DecodedString value) => _scratch.AsSpan(value.Start, value.Length);

        /// <summary>
        /// Where the next quote, backslash or raw control character is, or -1. Real text has an escape every few
        /// dozen characters (quotations, newlines, paths), so this runs once per escape: a general
        /// <c>IndexOfAny(SearchValues)</c> costs more per call than the short stretch it searches (it took half of
        /// the validator's time), while three vector compares over 16 characters cost a few instructions.
        /// </summary>
        private static int IndexOfStringStop(ReadOnlySpan<char> span)
        {
            var units = MemoryMarshal.Cast<char, ushort>(span);
            ref var first = ref MemoryMarshal.GetReference(units);
            var i = 0;
            if (Vector256.IsHardwareAccelerated && units.Length >= Vector256<ushort>.Count)
            {
                // The last block overlaps the one before it: its first part was already found clear, so the first
                // stop it shows is still the first one.
                var last = units.Length - Vector256<ushort>.Count;
                while (true)
                {
                    var at = Math.Min(i, last);
                    var block = Vector256.LoadUnsafe(ref first, (nuint)at);
                    var stops = (Vector256.Equals(block, Vector256.Create((ushort)'"'))
                        | Vector256.Equals(block, Vector256.Create((ushort)'\\'))
                        | Vector256.LessThan(block, Vector256.Create((ushort)' '))).ExtractMostSignificantBits();
                    if (stops != 0)
                    {
                        return at + BitOperations.TrailingZeroCount(stops);
                    }

                    if (at == last)
                    {
                        return -1;
                    }

                    i = at + Vector256<ushort>.Count;
                }
            }

            if (Vector128.IsHardwareAccelerated && units.Length >= Vector128<ushort>.Count)
            {
                var last = units.Length - Vector128<ushort>.Count;
                while (true)
                {
                    var at = Math.Min(i, last);
                    var block = Vector128.LoadUnsafe(ref first, (nuint)at);
                    var stops = (Vector128.Equals(block, Vector128.Create((ushort)'"'))
                        | Vector128.Equals(block, Vector128.Create((ushort)'\\'))
                        | Vector128.LessThan(block, Vector128.Create((ushort)' '))).ExtractMostSignificantBits();
                    if (stops != 0)
                    {
                        return at + BitOperations.TrailingZeroCount(stops);
                    }

                    if (at == last)
                    {
                        return -1;
                    }

                    i = at + Vector128<ushort>.Count;
                }
            }

            for (; i < units.Length; i++)
            {
                if (units[i] is '"' or '\\' or < ' ')
                {
                    return i;
                }
            }

            return -1;
        }

        private readonly char HexUnit(int backslash)
        {
            var value = backslash + 6 > _text.Length ? -1 : HexValue(_text.Slice(backslash + 2, 4));
            if (value < 0)
            {
                throw new SyntaxException("a \\u escape needs 4 hex digits", backslash);
            }

            return (char)value;
        }

        /// <summary>
        /// The value of four hex digits, or -1. Emoji arrive as two <c>\uXXXX</c> escapes each; <c>ushort.TryParse</c>
        /// cost more than the rest of the escape's handling, and a branch per digit kind mispredicts on mixed digits.
        /// </summary>
        private static int HexValue(ReadOnlySpan<char> digits)
        {
            var value = 0;
            var invalid = 0;
            foreach (var c in digits)
            {
                // Out-of-range characters map to the invalid entry too, so one OR at the end checks all four.
                var digit = HexDigits[Math.Min((int)c, HexDigits.Length - 1)];
                invalid |= digit;
                value = (value << 4) | (digit & 0xF);
            }

            return (invalid & 0x10) == 0 ? value : -1;
        }

        /// <summary>Hex digit values for U+0000 to 'f'; 0x10 marks a character that is not a hex digit (also the last entry).</summary>
        private static ReadOnlySpan<byte> HexDigits =>
        [
            16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16,
            16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16,
            16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16,
            0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 16, 16, 16, 16, 16, 16,
            16, 10, 11, 12, 13, 14, 15, 16, 16, 16, 16, 16, 16, 16, 16, 16,
            16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16,
            16, 10, 11, 12, 13, 14, 15, 16,
        ];

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
