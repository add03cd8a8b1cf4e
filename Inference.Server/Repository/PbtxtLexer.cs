using System.Text;

namespace Inference.Server.Repository;

/// <summary>
/// Splits protobuf text format into tokens: identifiers, numbers (without sign; '-' is a symbol),
/// string literals (single or double quotes, C escapes incl. octal, \x, \u, \U), and the symbols
/// <c>{ } &lt; &gt; [ ] : , ; -</c>. <c>#</c> starts a comment to the end of the line.
/// Not thread-safe; one instance per parse.
/// </summary>
internal sealed class PbtxtLexer(string text)
{
    private readonly string _text = text;
    private int _pos;
    private int _line = 1;
    private int _lineStart;
    private PbtxtToken? _peeked;

    public PbtxtToken Peek() => _peeked ??= Read();

    public PbtxtToken Next()
    {
        var t = Peek();
        _peeked = null;
        return t;
    }

    private PbtxtToken Read()
    {
        SkipWhitespaceAndComments();
        int line = _line, col = _pos - _lineStart + 1;
        if (_pos >= _text.Length)
        {
            return new PbtxtToken(PbtxtTokenKind.End, "", line, col);
        }
        char c = _text[_pos];
        if (char.IsAsciiLetter(c) || c == '_')
        {
            int start = _pos;
            while (_pos < _text.Length && (char.IsAsciiLetterOrDigit(_text[_pos]) || _text[_pos] == '_'))
            {
                _pos++;
            }
            return new PbtxtToken(PbtxtTokenKind.Identifier, _text[start.._pos], line, col);
        }
        if (char.IsAsciiDigit(c) || (c == '.' && _pos + 1 < _text.Length && char.IsAsciiDigit(_text[_pos + 1])))
        {
            return ReadNumber(line, col);
        }
        if (c is '"' or '\'')
        {
            return ReadString(c, line, col);
        }
        if ("{}<>[]:,;-".Contains(c))
        {
            _pos++;
            return new PbtxtToken(PbtxtTokenKind.Symbol, c.ToString(), line, col);
        }
        throw new PbtxtSyntaxException(line, col, $"unexpected character '{c}'");
    }

    private void SkipWhitespaceAndComments()
    {
        while (_pos < _text.Length)
        {
            char c = _text[_pos];
            if (c == '\n')
            {
                _pos++;
                _line++;
                _lineStart = _pos;
            }
            else if (char.IsWhiteSpace(c))
            {
                _pos++;
            }
            else if (c == '#')
            {
                while (_pos < _text.Length && _text[_pos] != '\n')
                {
                    _pos++;
                }
            }
            else
            {
                return;
            }
        }
    }

    private PbtxtToken ReadNumber(int line, int col)
    {
        int start = _pos;
        bool hex = _text[_pos] == '0' && _pos + 1 < _text.Length && (_text[_pos + 1] is 'x' or 'X');
        if (hex)
        {
            _pos += 2;
        }
        while (_pos < _text.Length)
        {
            char c = _text[_pos];
            if (char.IsAsciiLetterOrDigit(c) || c == '.' || c == '_')
            {
                _pos++;
            }
            else if (!hex && (c is '+' or '-') && (_text[_pos - 1] is 'e' or 'E'))
            {
                _pos++;
            }
            else
            {
                break;
            }
        }
        return new PbtxtToken(PbtxtTokenKind.Number, _text[start.._pos], line, col);
    }

    private PbtxtToken ReadString(char quote, int line, int col)
    {
        _pos++;
        var bytes = new List<byte>();
        Span<byte> utf8 = stackalloc byte[4];
        while (true)
        {
            if (_pos >= _text.Length || _text[_pos] == '\n')
            {
                throw new PbtxtSyntaxException(line, col, "unterminated string literal");
            }
            char c = _text[_pos++];
            if (c == quote)
            {
                break;
            }
            if (c != '\\')
            {
                if (char.IsHighSurrogate(c) && _pos < _text.Length && char.IsLowSurrogate(_text[_pos]))
                {
                    AddUtf8(bytes, char.ConvertToUtf32(c, _text[_pos++]), utf8);
                }
                else
                {
                    AddUtf8(bytes, c, utf8);
                }
                continue;
            }
            if (_pos >= _text.Length)
            {
                throw new PbtxtSyntaxException(line, col, "unterminated string literal");
            }
            int escLine = _line, escCol = _pos - _lineStart;
            char e = _text[_pos++];
            switch (e)
            {
                case 'n': bytes.Add((byte)'\n'); break;
                case 't': bytes.Add((byte)'\t'); break;
                case 'r': bytes.Add((byte)'\r'); break;
                case 'a': bytes.Add(7); break;
                case 'b': bytes.Add(8); break;
                case 'f': bytes.Add(12); break;
                case 'v': bytes.Add(11); break;
                case '\\' or '\'' or '"' or '?': bytes.Add((byte)e); break;
                case >= '0' and <= '7':
                    {
                        int v = e - '0';
                        for (int i = 0; i < 2 && _pos < _text.Length && _text[_pos] is >= '0' and <= '7'; i++)
                        {
                            v = v * 8 + (_text[_pos++] - '0');
                        }
                        if (v > 255)
                        {
                            throw new PbtxtSyntaxException(escLine, escCol, "octal escape out of range");
                        }
                        bytes.Add((byte)v);
                        break;
                    }
                case 'x' or 'X':
                    bytes.Add((byte)ReadHex(1, 2, escLine, escCol));
                    break;
                case 'u':
                    AddUtf8(bytes, ReadHex(4, 4, escLine, escCol), utf8);
                    break;
                case 'U':
                    AddUtf8(bytes, ReadHex(8, 8, escLine, escCol), utf8);
                    break;
                default:
                    throw new PbtxtSyntaxException(escLine, escCol, $"invalid escape sequence '\\{e}' in string literal");
            }
        }
        var array = bytes.ToArray();
        return new PbtxtToken(PbtxtTokenKind.String, Encoding.UTF8.GetString(array), line, col, array);
    }

    private int ReadHex(int min, int max, int line, int col)
    {
        int v = 0, n = 0;
        while (n < max && _pos < _text.Length && char.IsAsciiHexDigit(_text[_pos]))
        {
            v = v * 16 + Convert.ToInt32(_text[_pos++].ToString(), 16);
            n++;
        }
        if (n < min)
        {
            throw new PbtxtSyntaxException(line, col, "invalid hex escape in string literal");
        }
        return v;
    }

    private static void AddUtf8(List<byte> bytes, int codePoint, Span<byte> scratch)
    {
        if (codePoint > 0x10FFFF || (codePoint is >= 0xD800 and <= 0xDFFF))
        {
            codePoint = 0xFFFD;
        }
        int n = new Rune(codePoint).EncodeToUtf8(scratch);
        for (int i = 0; i < n; i++)
        {
            bytes.Add(scratch[i]);
        }
    }
}
