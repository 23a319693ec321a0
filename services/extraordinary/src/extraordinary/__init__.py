"""extraordinary: rides worth a human look (high fare or long distance), recorded once each."""
