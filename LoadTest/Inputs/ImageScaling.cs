namespace LoadTest.Inputs;

/// <summary>How decoded pixels become input values (Triton's image_client names): <c>None</c> keeps 0-255,
/// <c>Inception</c> maps to [-1, 1], <c>ImageNet</c> is torchvision's mean/std normalization of [0, 1] values.
/// UINT8 inputs always get raw pixels.</summary>
public enum ImageScaling
{
    None,
    Inception,
    ImageNet,
}
