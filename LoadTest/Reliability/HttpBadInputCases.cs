using System.Globalization;
using System.Text;

namespace LoadTest.Reliability;

/// <summary>One bad request and how to send it; <see cref="Name"/> is <c>http/CLASS/CASE</c>.</summary>
public sealed record HttpBadCase(string Name, Func<SuiteContext, CancellationToken, Task<HttpOutcome>> Send);

/// <summary>
/// The HTTP bad-input classes, built for the good model's first input (name, datatype, dims, max batch size):
/// malformed JSON; wrong structure and types of every field of the infer request; shapes, sizes and datatypes
/// that do not match; the binary extension's header length and binary_data_size inconsistent with the body; huge
/// declared sizes and oversize bodies; unknown models and versions; bad request, input and output parameters;
/// bad repository-control bodies; and invalid UTF-8 (and an escaped lone surrogate) in every JSON string field the
/// server reads. Every one must be answered with a 4xx and a JSON <c>{"error": ...}</c> body.
/// </summary>
public static class HttpBadInputCases
{
    /// <summary>The invalid sequences put into string fields: an invalid 2-byte sequence, a byte never valid in UTF-8,
    /// an encoded UTF-16 surrogate, and (as a JSON escape, valid UTF-8 but not Unicode) a lone surrogate.</summary>
    public static readonly IReadOnlyList<(string Name, byte[] Bytes)> InvalidSequences =
    [
        ("c3-28", [0xC3, 0x28]),
        ("ff", [0xFF]),
        ("ed-a0-80", [0xED, 0xA0, 0x80]),
        ("escaped-lone-surrogate", "\\ud800"u8.ToArray()),
    ];

    private const string Marker = "\u0001BAD\u0001";

    public static IReadOnlyList<HttpBadCase> Build(SeedRequests seeds, ReliabilityOptions options)
    {
        var b = new Builder(seeds, options);
        var cases = new List<HttpBadCase>();
        cases.AddRange(b.MalformedJson());
        cases.AddRange(b.Structure());
        cases.AddRange(b.ShapesAndTypes());
        cases.AddRange(b.Parameters());
        cases.AddRange(b.Binary());
        cases.AddRange(b.Sizes());
        cases.AddRange(b.UnknownModelsAndVersions());
        cases.AddRange(b.Control());
        cases.AddRange(b.InvalidUtf8());
        return cases;
    }

    private sealed class Builder(SeedRequests seeds, ReliabilityOptions options)
    {
        private readonly string _model = seeds.Model.Name;
        private readonly string _input = seeds.FirstInput.Name;
        private readonly string _type = seeds.FirstInput.DataType;
        private readonly int _n = checked((int)seeds.FirstInputElements);
        private readonly string _output = seeds.Model.Outputs[0].Name;

        private string InferPath => $"/v2/models/{_model}/infer";

        private string Zero => _type == "BOOL" ? "false" : "0";

        private string Data(int count) => string.Join(",", Enumerable.Repeat(Zero, count));

        /// <summary>The JSON objects of the inputs after the first (their good form), with a leading comma.</summary>
        private string OtherInputs => string.Concat(seeds.Template.Inputs.Skip(1).Select(t =>
            $$""",{"name":"{{t.Name}}","shape":[{{string.Join(",", t.Shape)}}],"datatype":"{{t.DataType}}","data":[{{string.Join(",", Enumerable.Repeat(t.DataType == "BOOL" ? "false" : "0", (int)t.Shape.Aggregate(1L, (a, d) => a * d)))}}]}"""));

        private string Input(string? name = null, string? shape = null, string? datatype = null, string? data = null, string extra = "") =>
            $$"""{"name":"{{name ?? _input}}","shape":{{shape ?? seeds.ShapeJson()}},"datatype":"{{datatype ?? _type}}","data":{{data ?? "[" + Data(_n) + "]"}}{{extra}}}""";

        /// <summary>A whole infer body whose first input is <paramref name="input"/>, with the other inputs good.</summary>
        private string Body(string input, string rest = "") => $$"""{"inputs":[{{input}}{{OtherInputs}}]{{rest}}}""";

        private string GoodBody => Body(Input());

        private HttpBadCase Json(string name, string body, string? path = null) =>
            new($"http/{name}", (c, ct) => c.PostAsync(path ?? InferPath, Encoding.UTF8.GetBytes(body), ct));

        private HttpBadCase Bytes(string name, byte[] body, string? path = null) =>
            new($"http/{name}", (c, ct) => c.PostAsync(path ?? InferPath, body, ct));

        private HttpBadCase Get(string name, string path) =>
            new($"http/{name}", (c, ct) => c.SendAsync(HttpMethod.Get, path, null, ct));

        private HttpBadCase BinaryCase(string name, byte[] body, string? headerLength) =>
            new($"http/binary/{name}", (c, ct) => c.SendAsync(HttpMethod.Post, InferPath, body, ct, "application/octet-stream",
                headerLength is null ? null : [new("Inference-Header-Content-Length", headerLength)]));

        public IEnumerable<HttpBadCase> MalformedJson()
        {
            var good = GoodBody;
            yield return Json("json/empty-body", "");
            yield return Json("json/open-brace", "{");
            yield return Json("json/truncated", good[..^5]);
            yield return Json("json/array-root", "[]");
            yield return Json("json/string-root", "\"inputs\"");
            yield return Json("json/null-root", "null");
            yield return Json("json/number-root", "42");
            yield return Json("json/empty-object", "{}");
            yield return Json("json/trailing-garbage", good + "xyz");
            yield return Json("json/two-objects", good + good);
            yield return Json("json/single-quotes", good.Replace('"', '\''));
            yield return Json("json/comment", "/* comment */" + good);
            yield return Json("json/unquoted-key", good.Replace("\"inputs\"", "inputs", StringComparison.Ordinal));
            yield return Json("json/trailing-comma", Body(Input() + ","));
            yield return Json("json/nan-in-data", Body(Input(data: "[NaN" + (_n > 1 ? "," + Data(_n - 1) : "") + "]")));
            yield return Json("json/deep-nesting", Body(Input(data: new string('[', 5000) + "0" + new string(']', 5000))));
            yield return Json("json/unterminated-string", """{"id":"abc""");
            yield return Json("json/control-char-in-string", "{\"id\":\"a\u0001b\"," + good[1..]);
            yield return Json("json/bad-escape", "{\"id\":\"\\x41\"," + good[1..]);
            yield return Json("json/binary-garbage", "\u0000\u0001\u0002\u0003");
        }

        public IEnumerable<HttpBadCase> Structure()
        {
            yield return Json("structure/inputs-object", """{"inputs":{}}""");
            yield return Json("structure/inputs-null", """{"inputs":null}""");
            yield return Json("structure/inputs-string", """{"inputs":"INPUT0"}""");
            yield return Json("structure/input-number", """{"inputs":[1]}""");
            yield return Json("structure/inputs-empty", """{"inputs":[]}""");
            yield return Json("structure/input-empty-object", """{"inputs":[{}]}""");
            yield return Json("structure/input-missing-name", Body($$"""{"shape":{{seeds.ShapeJson()}},"datatype":"{{_type}}","data":[{{Data(_n)}}]}"""));
            yield return Json("structure/input-name-number", Body($$"""{"name":7,"shape":{{seeds.ShapeJson()}},"datatype":"{{_type}}","data":[{{Data(_n)}}]}"""));
            yield return Json("structure/input-missing-datatype", Body($$"""{"name":"{{_input}}","shape":{{seeds.ShapeJson()}},"data":[{{Data(_n)}}]}"""));
            yield return Json("structure/input-datatype-number", Body($$"""{"name":"{{_input}}","shape":{{seeds.ShapeJson()}},"datatype":32,"data":[{{Data(_n)}}]}"""));
            yield return Json("structure/input-missing-shape", Body($$"""{"name":"{{_input}}","datatype":"{{_type}}","data":[{{Data(_n)}}]}"""));
            yield return Json("structure/input-missing-data", Body($$"""{"name":"{{_input}}","shape":{{seeds.ShapeJson()}},"datatype":"{{_type}}"}"""));
            yield return Json("structure/data-string", Body(Input(data: "\"0\"")));
            yield return Json("structure/data-object", Body(Input(data: "{}")));
            yield return Json("structure/data-null", Body(Input(data: "null")));
            yield return Json("structure/data-strings", Body(Input(data: "[" + string.Join(",", Enumerable.Repeat("\"a\"", _n)) + "]")));
            yield return Json("structure/data-nulls", Body(Input(data: "[" + string.Join(",", Enumerable.Repeat("null", _n)) + "]")));
            yield return Json("structure/data-objects", Body(Input(data: "[" + string.Join(",", Enumerable.Repeat("{}", _n)) + "]")));
            yield return Json("structure/data-and-binary-size", Body(Input(extra: $$""","parameters":{"binary_data_size":{{_n * 4}}}""")));
            yield return Json("structure/duplicate-input", Body(Input() + "," + Input()));
            yield return Json("structure/unknown-input", Body(Input() + "," + Input(name: "RELIABILITY_NO_SUCH_INPUT")));
            yield return Json("structure/id-number", "{\"id\":5," + GoodBody[1..]);
            yield return Json("structure/id-object", "{\"id\":{}," + GoodBody[1..]);
            yield return Json("structure/outputs-object", Body(Input(), ""","outputs":{}"""));
            yield return Json("structure/output-number", Body(Input(), ""","outputs":[1]"""));
            yield return Json("structure/output-missing-name", Body(Input(), ""","outputs":[{}]"""));
            yield return Json("structure/output-name-number", Body(Input(), ""","outputs":[{"name":1}]"""));
            yield return Json("structure/unknown-output", Body(Input(), ""","outputs":[{"name":"RELIABILITY_NO_SUCH_OUTPUT"}]"""));
            yield return Json("structure/duplicate-output", Body(Input(), $$""","outputs":[{"name":"{{_output}}"},{"name":"{{_output}}"}]"""));
        }

        public IEnumerable<HttpBadCase> ShapesAndTypes()
        {
            var dims = seeds.FirstInput.Dims;
            var batchPrefix = seeds.Batches ? "1," : "";
            yield return Json("shape/not-array", Body(Input(shape: "16")));
            yield return Json("shape/string-elements", Body(Input(shape: "[" + string.Join(",", (seeds.Batches ? [1L, .. dims] : dims).Select(d => $"\"{d}\"")) + "]")));
            yield return Json("shape/float-element", Body(Input(shape: $"[{batchPrefix}{string.Join(",", dims.Select(d => d + ".5"))}]")));
            yield return Json("shape/negative", Body(Input(shape: $"[-1,{string.Join(",", dims)}]")));
            yield return Json("shape/int64-max", Body(Input(shape: $"[{batchPrefix}9223372036854775807]")));
            yield return Json("shape/overflow", Body(Input(shape: "[4294967296,4294967296,4294967296]")));
            yield return Json("shape/number-beyond-int64", Body(Input(shape: $"[{batchPrefix}1e30]")));
            yield return Json("shape/empty", Body(Input(shape: "[]", data: "[" + Zero + "]")));
            yield return Json("shape/extra-dim", Body(Input(shape: $"[{batchPrefix}{string.Join(",", dims)},1]")));
            yield return Json("shape/last-dim-doubled", Body(Input(shape: $"[{batchPrefix}{string.Join(",", dims.SkipLast(1).Append(dims[^1] * 2))}]", data: "[" + Data(_n * 2) + "]")));
            yield return Json("shape/sixty-four-dims", Body(Input(shape: "[" + string.Join(",", Enumerable.Repeat("1", 64)) + "]", data: "[" + Zero + "]")));
            yield return Json("size/data-one-short", Body(Input(data: "[" + Data(_n - 1) + "]")));
            yield return Json("size/data-one-long", Body(Input(data: "[" + Data(_n + 1) + "]")));
            yield return Json("size/data-empty", Body(Input(data: "[]")));
            yield return Json("size/huge-shape-no-data", Body(Input(shape: $"[{batchPrefix}2147483647]", data: "[" + Zero + "]")));
            if (seeds.Batches)
            {
                var max = seeds.Model.MaxBatchSize;
                yield return Json("shape/batch-zero", Body(Input(shape: seeds.ShapeJson(0), data: "[]")));
                yield return Json("shape/batch-over-max", Body(Input(shape: seeds.ShapeJson(max + 1), data: "[" + Data(_n * (max + 1)) + "]")));
            }
            foreach (var other in new[] { "FP32", "INT32", "INT64", "FP64", "UINT8", "BOOL" }.Where(t => t != _type))
            {
                var zero = other == "BOOL" ? "false" : "0";
                yield return Json($"datatype/{other.ToLowerInvariant()}-for-{_type.ToLowerInvariant()}",
                    Body(Input(datatype: other, data: "[" + string.Join(",", Enumerable.Repeat(zero, _n)) + "]")));
            }
            yield return Json("datatype/bytes", Body(Input(datatype: "BYTES", data: "[" + string.Join(",", Enumerable.Repeat("\"a\"", _n)) + "]")));
            yield return Json("datatype/fp16-in-json", Body(Input(datatype: "FP16")));
            yield return Json("datatype/unknown", Body(Input(datatype: "FP33")));
            yield return Json("datatype/lowercase", Body(Input(datatype: _type.ToLowerInvariant())));
            yield return Json("datatype/empty", Body(Input(datatype: "")));
            yield return Json("datatype/bool-values-for-numbers", Body(Input(data: "[" + string.Join(",", Enumerable.Repeat(_type == "BOOL" ? "2" : "true", _n)) + "]")));
        }

        public IEnumerable<HttpBadCase> Parameters()
        {
            var good = Input();
            yield return Json("parameters/not-object", Body(good, ""","parameters":"x" """));
            yield return Json("parameters/array", Body(good, ""","parameters":[1]"""));
            yield return Json("parameters/value-object", Body(good, ""","parameters":{"a":{}}"""));
            yield return Json("parameters/value-array", Body(good, ""","parameters":{"a":[1]}"""));
            yield return Json("parameters/value-null", Body(good, ""","parameters":{"a":null}"""));
            yield return Json("parameters/binary-data-output-string", Body(good, ""","parameters":{"binary_data_output":"yes"}"""));
            yield return Json("parameters/priority-negative", Body(good, ""","parameters":{"priority":-1}"""));
            yield return Json("parameters/priority-string", Body(good, ""","parameters":{"priority":"high"}"""));
            yield return Json("parameters/priority-float", Body(good, ""","parameters":{"priority":1.5}"""));
            yield return Json("parameters/timeout-negative", Body(good, ""","parameters":{"timeout":-5}"""));
            yield return Json("parameters/timeout-string", Body(good, ""","parameters":{"timeout":"soon"}"""));
            yield return Json("parameters/input-not-object", Body(Input(extra: ""","parameters":5""")));
            yield return Json("parameters/input-shared-memory", Body(Input(extra: ""","parameters":{"shared_memory_region":"r"}""")));
            yield return Json("parameters/binary-size-negative", Body($$$"""{"name":"{{{_input}}}","shape":{{{seeds.ShapeJson()}}},"datatype":"{{{_type}}}","parameters":{"binary_data_size":-4}}"""));
            yield return Json("parameters/binary-size-float", Body($$$"""{"name":"{{{_input}}}","shape":{{{seeds.ShapeJson()}}},"datatype":"{{{_type}}}","parameters":{"binary_data_size":4.5}}"""));
            yield return Json("parameters/binary-size-string", Body($$$"""{"name":"{{{_input}}}","shape":{{{seeds.ShapeJson()}}},"datatype":"{{{_type}}}","parameters":{"binary_data_size":"64"}}"""));
            yield return Json("parameters/output-not-object", Body(good, $$""","outputs":[{"name":"{{_output}}","parameters":[]}]"""));
            yield return Json("parameters/output-binary-data-string", Body(good, $$$""","outputs":[{"name":"{{{_output}}}","parameters":{"binary_data":"yes"}}]"""));
            yield return Json("parameters/output-classification-negative", Body(good, $$$""","outputs":[{"name":"{{{_output}}}","parameters":{"classification":-1}}]"""));
            yield return Json("parameters/output-classification-string", Body(good, $$$""","outputs":[{"name":"{{{_output}}}","parameters":{"classification":"3"}}]"""));
            yield return Json("parameters/output-classification-float", Body(good, $$$""","outputs":[{"name":"{{{_output}}}","parameters":{"classification":1.5}}]"""));
            yield return Json("parameters/output-shared-memory", Body(good, $$$""","outputs":[{"name":"{{{_output}}}","parameters":{"shared_memory_region":"r"}}]"""));
        }

        public IEnumerable<HttpBadCase> Binary()
        {
            var body = seeds.BinaryBody;
            var h = seeds.BinaryHeaderLength;
            var header = Encoding.UTF8.GetString(body, 0, h);
            var raw = body[h..];
            var size = raw.Length.ToString(CultureInfo.InvariantCulture);
            byte[] With(string json, byte[] data) => [.. Encoding.UTF8.GetBytes(json), .. data];
            string Len(string json) => Encoding.UTF8.GetByteCount(json).ToString(CultureInfo.InvariantCulture);
            string SizeAs(string value) => header.Replace($"\"binary_data_size\":{size}", $"\"binary_data_size\":{value}", StringComparison.Ordinal);

            yield return BinaryCase("header-length-not-number", body, "abc");
            yield return BinaryCase("header-length-negative", body, "-1");
            yield return BinaryCase("header-length-plus-sign", body, "+" + h);
            yield return BinaryCase("header-length-hex", body, "0x10");
            yield return BinaryCase("header-length-float", body, h + ".5");
            yield return BinaryCase("header-length-beyond-body", body, (body.Length + 100).ToString(CultureInfo.InvariantCulture));
            yield return BinaryCase("header-length-huge", body, "99999999999999999999");
            yield return BinaryCase("header-length-int32-max", body, int.MaxValue.ToString(CultureInfo.InvariantCulture));
            yield return BinaryCase("header-length-zero", body, "0");
            yield return BinaryCase("header-length-cuts-json", body, (h / 2).ToString(CultureInfo.InvariantCulture));
            yield return BinaryCase("header-length-one-short", body, (h - 1).ToString(CultureInfo.InvariantCulture));
            yield return BinaryCase("header-length-one-long", body, (h + 1).ToString(CultureInfo.InvariantCulture));
            yield return BinaryCase("header-length-missing", body, null);
            yield return BinaryCase("binary-size-beyond-body", With(SizeAs((raw.Length + 100).ToString(CultureInfo.InvariantCulture)), raw), Len(SizeAs((raw.Length + 100).ToString(CultureInfo.InvariantCulture))));
            var shortSize = SizeAs((raw.Length - 4).ToString(CultureInfo.InvariantCulture));
            yield return BinaryCase("binary-size-short-of-shape", With(shortSize, raw[..^4]), Len(shortSize));
            yield return BinaryCase("binary-trailing-bytes", [.. body, .. new byte[8]], h.ToString(CultureInfo.InvariantCulture));
            yield return BinaryCase("binary-body-truncated", body[..^4], h.ToString(CultureInfo.InvariantCulture));
            var huge = SizeAs("2147483647");
            yield return BinaryCase("binary-size-int32-max", With(huge, raw), Len(huge));
            var over = SizeAs("4294967296");
            yield return BinaryCase("binary-size-beyond-int32", With(over, raw), Len(over));
            var neg = SizeAs("-4");
            yield return BinaryCase("binary-size-negative", With(neg, raw), Len(neg));
            var wrongType = header.Replace($"\"datatype\":\"{_type}\"", "\"datatype\":\"FP64\"", StringComparison.Ordinal);
            yield return BinaryCase("binary-datatype-mismatch", With(wrongType, raw), Len(wrongType));
            var wrongTypeDoubled = wrongType.Replace($"\"binary_data_size\":{size}", $"\"binary_data_size\":{raw.Length * 2}", StringComparison.Ordinal);
            yield return BinaryCase("binary-datatype-fp64-sized", With(wrongTypeDoubled, [.. raw, .. raw]), Len(wrongTypeDoubled));
            yield return BinaryCase("binary-header-not-json", With("not json at all", raw), "15");
        }

        public IEnumerable<HttpBadCase> Sizes()
        {
            var limit = options.MaxBodyBytes;
            var path = InferPath;
            yield return new HttpBadCase("http/size/content-length-huge", (c, ct) => RawHttp.SendAsync(c.Options.HttpUrl,
                $"POST {path} HTTP/1.1\r\nHost: {c.Options.HttpUrl.Authority}\r\nContent-Type: application/json\r\nContent-Length: 10000000000000\r\nConnection: close",
                Encoding.UTF8.GetBytes("{\"inputs\":"), c.Timeout, ct));
            yield return new HttpBadCase("http/size/content-length-one-over-limit", (c, ct) => RawHttp.SendAsync(c.Options.HttpUrl,
                $"POST {path} HTTP/1.1\r\nHost: {c.Options.HttpUrl.Authority}\r\nContent-Type: application/json\r\nContent-Length: {limit + 1}\r\nConnection: close",
                [], c.Timeout, ct));
            // Sent over a raw socket: the server may answer 413 and close before the body is in, which HttpClient
            // reports as a failed upload without the answer.
            yield return new HttpBadCase("http/size/oversize-body", (c, ct) => RawHttp.SendAsync(c.Options.HttpUrl,
                $"POST {path} HTTP/1.1\r\nHost: {c.Options.HttpUrl.Authority}\r\nContent-Type: application/json\r\nContent-Length: {limit + 1}\r\nConnection: close",
                new byte[limit + 1], c.Timeout, ct));
            yield return new HttpBadCase("http/size/oversize-chunked-body", async (c, ct) =>
            {
                using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
                cts.CancelAfter(c.Timeout);
                using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(c.Options.HttpUrl, path))
                {
                    Content = new StreamContent(new ChunkyStream(limit + 1)),
                };
                request.Headers.TransferEncodingChunked = true;
                try
                {
                    using var response = await c.Http.SendAsync(request, cts.Token).ConfigureAwait(false);
                    return new HttpOutcome((int)response.StatusCode, await response.Content.ReadAsStringAsync(cts.Token).ConfigureAwait(false), null);
                }
                catch (OperationCanceledException) when (!ct.IsCancellationRequested)
                {
                    return HttpOutcome.Timeout();
                }
                catch (HttpRequestException e)
                {
                    return HttpOutcome.TransportFailure(e.Message);
                }
            });
            yield return new HttpBadCase("http/size/oversize-control-body", (c, ct) => RawHttp.SendAsync(c.Options.HttpUrl,
                $"POST /v2/repository/index HTTP/1.1\r\nHost: {c.Options.HttpUrl.Authority}\r\nContent-Type: application/json\r\nContent-Length: {limit + 1}\r\nConnection: close",
                new byte[limit + 1], c.Timeout, ct));
        }

        public IEnumerable<HttpBadCase> UnknownModelsAndVersions()
        {
            var good = Encoding.UTF8.GetBytes(GoodBody);
            yield return Bytes("model/unknown", good, "/v2/models/reliability_no_such_model/infer");
            yield return Bytes("model/unknown-long-name", good, $"/v2/models/{new string('m', 1000)}/infer");
            yield return Bytes("model/unknown-unicode-name", good, $"/v2/models/{Uri.EscapeDataString("modèle_inconnu")}/infer");
            yield return Bytes("version/not-a-number", good, $"/v2/models/{_model}/versions/one/infer");
            yield return Bytes("version/negative", good, $"/v2/models/{_model}/versions/-1/infer");
            yield return Bytes("version/float", good, $"/v2/models/{_model}/versions/1.5/infer");
            yield return Bytes("version/unknown", good, $"/v2/models/{_model}/versions/987654/infer");
            yield return Bytes("version/beyond-int64", good, $"/v2/models/{_model}/versions/99999999999999999999/infer");
            yield return Bytes("version/space", good, $"/v2/models/{_model}/versions/%20/infer");
            yield return Get("model/unknown-metadata", "/v2/models/reliability_no_such_model");
            yield return Get("model/unknown-config", "/v2/models/reliability_no_such_model/config");
            yield return Get("model/unknown-stats", "/v2/models/reliability_no_such_model/stats");
            yield return Get("version/metadata-not-a-number", $"/v2/models/{_model}/versions/one");
            yield return Get("version/config-not-a-number", $"/v2/models/{_model}/versions/one/config");
            yield return Get("version/stats-not-a-number", $"/v2/models/{_model}/versions/one/stats");
            yield return Get("version/ready-not-a-number", $"/v2/models/{_model}/versions/one/ready");
            yield return Get("version/metadata-unknown", $"/v2/models/{_model}/versions/987654");
        }

        public IEnumerable<HttpBadCase> Control()
        {
            var load = $"/v2/repository/models/{_model}/load";
            yield return Json("control/index-malformed", "{", "/v2/repository/index");
            yield return Json("control/index-array", "[1]", "/v2/repository/index");
            yield return Json("control/index-ready-string", """{"ready":"yes"}""", "/v2/repository/index");
            yield return Json("control/index-ready-number", """{"ready":1}""", "/v2/repository/index");
            yield return Json("control/load-malformed", "{", load);
            yield return Json("control/load-array", "[]", load);
            yield return Json("control/load-parameters-string", """{"parameters":"x"}""", load);
            yield return Json("control/load-config-number", """{"parameters":{"config":5}}""", load);
            yield return Json("control/load-config-malformed", """{"parameters":{"config":"{"}}""", load);
            yield return Json("control/load-config-array", """{"parameters":{"config":"[]"}}""", load);
            yield return Json("control/load-config-wrong-field-type", """{"parameters":{"config":"{\"max_batch_size\":\"many\"}"}}""", load);
            yield return Json("control/load-file-override", """{"parameters":{"file:1/model.onnx":"AAAA"}}""", load);
            yield return Json("control/unload-malformed", "{", $"/v2/repository/models/{_model}/unload");
            yield return Json("control/unload-unknown-model", "", "/v2/repository/models/reliability_no_such_model/unload");
        }

        public IEnumerable<HttpBadCase> InvalidUtf8()
        {
            var good = Input();
            var load = $"/v2/repository/models/{_model}/load";
            var fields = new (string Field, string Json, string? Path)[]
            {
                ("id", "{\"id\":\"x" + Marker + "\"," + GoodBody[1..], null),
                ("input-name", Body(Input(name: _input + Marker)), null),
                ("input-datatype", Body(Input(datatype: _type + Marker)), null),
                ("input-parameter-key", Body(Input(extra: ",\"parameters\":{\"k" + Marker + "\":1}")), null),
                ("output-name", Body(good, ",\"outputs\":[{\"name\":\"" + _output + Marker + "\"}]"), null),
                ("output-parameter-key", Body(good, ",\"outputs\":[{\"name\":\"" + _output + "\",\"parameters\":{\"k" + Marker + "\":true}}]"), null),
                ("request-parameter-key", Body(good, ",\"parameters\":{\"k" + Marker + "\":1}"), null),
                ("request-parameter-value", Body(good, ",\"parameters\":{\"k\":\"v" + Marker + "\"}"), null),
                ("load-config-value", "{\"parameters\":{\"config\":\"{\\\"max_batch_size\\\":" + Marker + "}\"}}", load),
                ("load-parameter-key", "{\"parameters\":{\"k" + Marker + "\":\"v\"}}", load),
            };
            foreach (var (field, json, path) in fields)
            {
                // An escaped lone surrogate is valid UTF-8 text: only a string the server reads must be refused for it,
                // and unknown parameter keys are skipped. Raw invalid bytes make the whole JSON text invalid.
                var ignoredKey = field is "input-parameter-key" or "output-parameter-key";
                foreach (var (seq, bytes) in InvalidSequences.Where(s => !(ignoredKey && s.Name == "escaped-lone-surrogate")))
                {
                    yield return Bytes($"utf8/{field}/{seq}", Replace(json, bytes), path);
                }
            }
            yield return Bytes("utf8/url-model-name/c3-28", Encoding.UTF8.GetBytes(GoodBody), "/v2/models/%C3%28/infer");
        }

        private static byte[] Replace(string json, byte[] bad)
        {
            var bytes = Encoding.UTF8.GetBytes(json);
            var marker = Encoding.UTF8.GetBytes(Marker);
            var at = bytes.AsSpan().IndexOf(marker);
            return [.. bytes[..at], .. bad, .. bytes[(at + marker.Length)..]];
        }
    }

    /// <summary>A read-only stream of zeros of a given length with no known length (so HttpClient sends it chunked).</summary>
    private sealed class ChunkyStream(long length) : Stream
    {
        private long _left = length;

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count)
        {
            var n = (int)Math.Min(count, _left);
            Array.Clear(buffer, offset, n);
            _left -= n;
            return n;
        }

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
