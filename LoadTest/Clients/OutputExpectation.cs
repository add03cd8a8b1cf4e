namespace LoadTest.Clients;

/// <summary>What a valid response carries for one requested output: its wire datatype and shape (batch dimension
/// resolved to the request's batch size; -1 still matches any size). Null datatype or shape: not checked (the model's
/// metadata was not available).</summary>
public sealed record OutputExpectation(string Name, string? DataType, long[]? Shape);
