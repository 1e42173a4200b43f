"""Reference values from Gwet's irrCAC package (Python port of the R package), version 0.4.4.

Produced once (irrCAC pins an old scipy, so it is not a test dependency) by:

    from irrCAC.raw import CAC; import irrCAC.datasets as ds
    CAC(ds.raw_4raters(), weights=W).fleiss() / .gwet() / .krippendorff() / .bp()   # W: identity, linear, quadratic
    CAC(ds.raw_5observers(), weights=W)...

Each entry: (coefficient, standard error, percent agreement pa, chance agreement pe).
"""

RAW_4RATERS = [
    [1.0, 1.0, None, 1.0],
    [2.0, 2.0, 3.0, 2.0],
    [3.0, 3.0, 3.0, 3.0],
    [3.0, 3.0, 3.0, 3.0],
    [2.0, 2.0, 2.0, 2.0],
    [1.0, 2.0, 3.0, 4.0],
    [4.0, 4.0, 4.0, 4.0],
    [1.0, 1.0, 2.0, 1.0],
    [2.0, 2.0, 2.0, 2.0],
    [None, 5.0, 5.0, 5.0],
    [None, None, 1.0, 1.0],
    [None, None, 3.0, None],
]
RAW_5OBSERVERS = [
    [1.0, 1.0, 2.0, None, 2.0],
    [1.0, 1.0, 0.0, 1.0, None],
    [2.0, 3.0, 3.0, 3.0, None],
    [None, 0.0, 0.0, None, 0.0],
    [0.0, 0.0, 0.0, None, 0.0],
    [0.0, 0.0, 0.0, None, 0.0],
    [1.0, 0.0, 2.0, None, 1.0],
    [1.0, None, 2.0, 0.0, None],
    [2.0, 2.0, 2.0, None, 2.0],
    [2.0, 1.0, 1.0, 1.0, None],
    [None, 1.0, 0.0, 0.0, None],
    [0.0, 0.0, 0.0, 0.0, None],
    [1.0, 2.0, 2.0, 2.0, None],
    [3.0, 3.0, 2.0, 2.0, 3.0],
    [1.0, 1.0, 1.0, None, 1.0],
]

VALUES = {
    ('raw_4raters', 'identity', 'fleiss'): (0.7611692754, 0.1530192035, 0.8181818182, 0.2387152778),
    ('raw_4raters', 'identity', 'gwet'): (0.7754440681, 0.1429499506, 0.8181818182, 0.1903211806),
    ('raw_4raters', 'identity', 'krippendorff'): (0.7434210526, 0.145573887, 0.805, 0.24),
    ('raw_4raters', 'identity', 'bp'): (0.7727272727, 0.1447166199, 0.8181818182, 0.2),
    ('raw_4raters', 'linear', 'fleiss'): (0.8179447671, 0.1485043555, 0.9393939394, 0.6671006944),
    ('raw_4raters', 'linear', 'gwet'): (0.8587391364, 0.1173290219, 0.9393939394, 0.5709635417),
    ('raw_4raters', 'linear', 'krippendorff'): (0.8003838772, 0.1354777441, 0.935, 0.674375),
    ('raw_4raters', 'linear', 'bp'): (0.8484848485, 0.1233561245, 0.9393939394, 0.6),
    ('raw_4raters', 'quadratic', 'fleiss'): (0.8649350649, 0.1460336108, 0.9753787879, 0.8177083333),
    ('raw_4raters', 'quadratic', 'gwet'): (0.9140007236, 0.1039622446, 0.9753787879, 0.7137044271),
    ('raw_4raters', 'quadratic', 'krippendorff'): (0.8491071429, 0.1291299657, 0.97359375, 0.825),
    ('raw_4raters', 'quadratic', 'bp'): (0.9015151515, 0.110894375, 0.9753787879, 0.75),
    ('raw_5observers', 'identity', 'fleiss'): (0.4576216868, 0.1204500719, 0.6155555556, 0.2911876543),
    ('raw_5observers', 'identity', 'gwet'): (0.4966220549, 0.121973368, 0.6155555556, 0.2362707819),
    ('raw_5observers', 'identity', 'krippendorff'): (0.4805302403, 0.1135075291, 0.6272294887, 0.2824019025),
    ('raw_5observers', 'identity', 'bp'): (0.4874074074, 0.1208915862, 0.6155555556, 0.25),
    ('raw_5observers', 'linear', 'fleiss'): (0.6118500438, 0.1097387426, 0.8607407407, 0.6412230453),
    ('raw_5observers', 'linear', 'gwet'): (0.6896394229, 0.0876907591, 0.8607407407, 0.5512984911),
    ('raw_5observers', 'linear', 'krippendorff'): (0.6352082207, 0.1000452582, 0.8663297662, 0.6335711455),
    ('raw_5observers', 'linear', 'bp'): (0.6657777778, 0.0856765584, 0.8607407407, 0.5833333333),
    ('raw_5observers', 'quadratic', 'fleiss'): (0.7507191283, 0.0973206909, 0.9461728395, 0.7840702332),
    ('raw_5observers', 'quadratic', 'gwet'): (0.8304335727, 0.0582464052, 0.9461728395, 0.6825600366),
    ('raw_5observers', 'quadratic', 'krippendorff'): (0.7718648088, 0.0860813319, 0.9491676576, 0.7771832475),
    ('raw_5observers', 'quadratic', 'bp'): (0.8062222222, 0.0585954354, 0.9461728395, 0.7222222222),
}
