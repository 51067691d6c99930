"""Channel availability's pure rules: policies, allocation, pools, bundles, the pipeline and its
fast path.
"""
