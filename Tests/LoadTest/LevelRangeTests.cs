using LoadTest.Cli;

namespace Inference.Tests.LoadTest;

public sealed class LevelRangeTests
{
    [Theory]
    [InlineData("1:64:x2", new double[] { 1, 2, 4, 8, 16, 32, 64 })]
    [InlineData("1:16:4", new double[] { 1, 5, 9, 13 })]
    [InlineData("2:4", new double[] { 2, 3, 4 })]
    [InlineData("1,8,64", new double[] { 1, 8, 64 })]
    [InlineData("1, 4:16:x4 ,100", new double[] { 1, 4, 16, 100 })]
    [InlineData("250.5", new double[] { 250.5 })]
    public void Parse_ListsAndRanges_GivesLevelsInOrder(string text, double[] expected) =>
        Assert.Equal(expected, LevelRange.Parse(text));

    [Theory]
    [InlineData("")]
    [InlineData("0")]
    [InlineData("8:4")]
    [InlineData("1:8:x1")]
    [InlineData("a,2")]
    [InlineData("1:2:3:4")]
    public void Parse_InvalidText_Throws(string text) => Assert.Throws<FormatException>(() => LevelRange.Parse(text));
}
