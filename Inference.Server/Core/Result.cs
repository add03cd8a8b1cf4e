namespace Inference.Server.Core;

/// <summary>A value or an expected failure.</summary>
public readonly record struct Result<T>(T? Value, InferenceError? Error)
{
    public bool IsSuccess => Error is null;

    public static implicit operator Result<T>(T value) => new(value, null);

    public static implicit operator Result<T>(InferenceError error) => new(default, error);
}
