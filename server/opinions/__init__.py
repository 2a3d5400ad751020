"""Written opinions (lấy ý kiến bằng văn bản): a question sent to points and people, with
documents and a deadline; each answers with an option and a comment."""
